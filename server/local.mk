# server: the daemon.
server_libpolltgt_a_SOURCES += \
	server/log.c server/log.h \
	server/acl.c server/acl.h \
	server/config.h server/config-internal.h \
	server/config-load.c server/config-keys.c server/config-value.c \
	server/config-error.c server/config-export.c server/config-finish.c \
	server/config-reload.c server/config-reload.h \
	server/daemon.c server/daemon.h \
	server/mainloop.c server/mainloop.h \
	server/server.c server/server.h \
	server/iothread.c server/iothread.h \
	server/listen.c server/listen.h \
	server/export.c server/export.h \
	server/frontend.c server/frontend.h \
	server/txq.c server/txq.h

sbin_PROGRAMS += server/polltgtd
server_polltgtd_SOURCES = server/main.c
server_polltgtd_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(INIH_CFLAGS)
server_polltgtd_LDADD = $(POLLTGT_LIBS)

check_PROGRAMS += tests/unit/test-config
TESTS += tests/unit/test-config
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-txq
TESTS += tests/unit/test-txq
tests_unit_test_txq_SOURCES = tests/unit/test-txq.c
tests_unit_test_txq_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_txq_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
