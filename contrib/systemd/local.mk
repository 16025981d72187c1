# contrib/systemd: the service and socket units, installed into
# systemdsystemunitdir (configure --with-systemdsystemunitdir; no skips
# them).  The service unit gets the installed paths at make time, as
# automake's manual recommends for directory variables.
EXTRA_DIST += contrib/systemd/polltgtd.service.in \
	contrib/systemd/polltgtd-nbd.socket contrib/systemd/polltgtd-iscsi.socket

if HAVE_SYSTEMD_UNITS
systemdsystemunit_DATA = contrib/systemd/polltgtd.service \
	contrib/systemd/polltgtd-nbd.socket contrib/systemd/polltgtd-iscsi.socket
endif

contrib/systemd/polltgtd.service: contrib/systemd/polltgtd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		$(srcdir)/contrib/systemd/polltgtd.service.in >$@.tmp && mv $@.tmp $@
CLEANFILES += contrib/systemd/polltgtd.service
all-local: contrib/systemd/polltgtd.service
