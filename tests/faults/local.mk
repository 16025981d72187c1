# tests/faults: faults and load against a real polltgtd (see
# tests/README.tests): backing files removed, truncated or full, clients
# that misbehave, connection churn.  Each test is bounded in time.
FAULTS_TESTS = \
	tests/faults/test-faults-backing \
	tests/faults/test-faults-enospc \
	tests/faults/test-faults-nbd-clients \
	tests/faults/test-faults-iscsi-clients \
	tests/faults/test-faults-churn

check_PROGRAMS += $(FAULTS_TESTS)
TESTS += $(FAULTS_TESTS)
EXTRA_DIST += tests/faults/faults-test-helpers.h

FAULTS_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS) $(LIBISCSI_CFLAGS)
FAULTS_LDADD = $(LIBNBD_LIBS) $(LIBISCSI_LIBS) $(PTHREAD_LIBS)

tests_faults_test_faults_backing_SOURCES = \
	tests/faults/test-faults-backing.c tests/faults/faults-test-helpers.h
tests_faults_test_faults_backing_CFLAGS = $(FAULTS_CFLAGS)
tests_faults_test_faults_backing_LDADD = $(FAULTS_LDADD)

tests_faults_test_faults_enospc_SOURCES = \
	tests/faults/test-faults-enospc.c tests/faults/faults-test-helpers.h
tests_faults_test_faults_enospc_CFLAGS = $(FAULTS_CFLAGS)
tests_faults_test_faults_enospc_LDADD = $(FAULTS_LDADD)

tests_faults_test_faults_nbd_clients_SOURCES = \
	tests/faults/test-faults-nbd-clients.c tests/faults/faults-test-helpers.h
tests_faults_test_faults_nbd_clients_CFLAGS = $(FAULTS_CFLAGS)
tests_faults_test_faults_nbd_clients_LDADD = $(FAULTS_LDADD)

tests_faults_test_faults_iscsi_clients_SOURCES = \
	tests/faults/test-faults-iscsi-clients.c tests/faults/faults-test-helpers.h
tests_faults_test_faults_iscsi_clients_CFLAGS = $(FAULTS_CFLAGS)
tests_faults_test_faults_iscsi_clients_LDADD = $(FAULTS_LDADD)

tests_faults_test_faults_churn_SOURCES = \
	tests/faults/test-faults-churn.c tests/faults/faults-test-helpers.h
tests_faults_test_faults_churn_CFLAGS = $(FAULTS_CFLAGS)
tests_faults_test_faults_churn_LDADD = $(FAULTS_LDADD)
