# conf: the shipped default configuration.
polltgtconfdir = $(sysconfdir)/polltgt
dist_polltgtconf_DATA = conf/polltgt.ini
