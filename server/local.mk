# server: the daemon.
server_libpolltgt_a_SOURCES += \
	server/log.c server/log.h

sbin_PROGRAMS += server/polltgtd
server_polltgtd_SOURCES = server/main.c
server_polltgtd_LDADD = $(POLLTGT_LIBS)
