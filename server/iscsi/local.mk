# server/iscsi: the iSCSI front end: PDUs, login (CHAP, negotiation),
# sessions, discovery and SCSI tasks.
server_libpolltgt_a_SOURCES += \
	server/iscsi/iscsi-protocol.h \
	server/iscsi/iscsi-internal.h \
	server/iscsi/iscsi-server.c server/iscsi/iscsi-server.h \
	server/iscsi/iscsi-conn.c \
	server/iscsi/iscsi-pdu.c server/iscsi/iscsi-pdu.h \
	server/iscsi/iscsi-login.c \
	server/iscsi/iscsi-session.c \
	server/iscsi/iscsi-discovery.c \
	server/iscsi/iscsi-task.c \
	server/iscsi/iscsi-digest.c server/iscsi/iscsi-digest.h \
	server/iscsi/iscsi-text.c server/iscsi/iscsi-text.h \
	server/iscsi/iscsi-param.c server/iscsi/iscsi-param.h \
	server/iscsi/iscsi-auth.c server/iscsi/iscsi-auth.h

check_PROGRAMS += tests/unit/test-iscsi-digest
TESTS += tests/unit/test-iscsi-digest
tests_unit_test_iscsi_digest_SOURCES = tests/unit/test-iscsi-digest.c
tests_unit_test_iscsi_digest_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_iscsi_digest_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-iscsi-text
TESTS += tests/unit/test-iscsi-text
tests_unit_test_iscsi_text_SOURCES = tests/unit/test-iscsi-text.c
tests_unit_test_iscsi_text_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_iscsi_text_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-iscsi-param
TESTS += tests/unit/test-iscsi-param
tests_unit_test_iscsi_param_SOURCES = tests/unit/test-iscsi-param.c
tests_unit_test_iscsi_param_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_iscsi_param_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-iscsi-auth
TESTS += tests/unit/test-iscsi-auth
tests_unit_test_iscsi_auth_SOURCES = tests/unit/test-iscsi-auth.c
tests_unit_test_iscsi_auth_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_iscsi_auth_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-iscsi-pdu
TESTS += tests/unit/test-iscsi-pdu
tests_unit_test_iscsi_pdu_SOURCES = tests/unit/test-iscsi-pdu.c
tests_unit_test_iscsi_pdu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_iscsi_pdu_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
