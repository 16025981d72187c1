# server/iscsi: the iSCSI front end (in progress: digests so far).
server_libpolltgt_a_SOURCES += \
	server/iscsi/iscsi-digest.c server/iscsi/iscsi-digest.h

check_PROGRAMS += tests/unit/test-iscsi-digest
TESTS += tests/unit/test-iscsi-digest
tests_unit_test_iscsi_digest_SOURCES = tests/unit/test-iscsi-digest.c
tests_unit_test_iscsi_digest_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_iscsi_digest_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
