# backends: storage backends (see backend.h).
server_libpolltgt_a_SOURCES += \
	backends/backend.h backends/backend.c \
	backends/memory.c backends/null.c backends/file.c \
	backends/file-io.c backends/file-direct.c backends/file-internal.h \
	backends/remote.c backends/remote-internal.h backends/nbd.c \
	backends/remote-resolve.c \
	backends/iscsi.c backends/rbd-queue.c backends/rbd-internal.h
if HAVE_RBD
server_libpolltgt_a_SOURCES += backends/rbd.c
endif

BACKEND_TEST_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(INIH_CFLAGS) $(CHECK_CFLAGS)
BACKEND_TEST_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += \
	tests/unit/test-backend-rbd-queue \
	tests/unit/test-backend-remote \
	tests/unit/test-backend-memory \
	tests/unit/test-backend-null \
	tests/unit/test-backend-file \
	tests/unit/test-backend-file-durable
TESTS += \
	tests/unit/test-backend-rbd-queue \
	tests/unit/test-backend-remote \
	tests/unit/test-backend-memory \
	tests/unit/test-backend-null \
	tests/unit/test-backend-file \
	tests/unit/test-backend-file-durable

tests_unit_test_backend_memory_SOURCES = \
	tests/unit/test-backend-memory.c tests/unit/backend-test-helpers.h
tests_unit_test_backend_memory_CFLAGS = $(BACKEND_TEST_CFLAGS)
tests_unit_test_backend_memory_LDADD = $(BACKEND_TEST_LDADD)

tests_unit_test_backend_null_SOURCES = \
	tests/unit/test-backend-null.c tests/unit/backend-test-helpers.h
tests_unit_test_backend_null_CFLAGS = $(BACKEND_TEST_CFLAGS)
tests_unit_test_backend_null_LDADD = $(BACKEND_TEST_LDADD)

tests_unit_test_backend_file_SOURCES = \
	tests/unit/test-backend-file.c tests/unit/backend-test-helpers.h
tests_unit_test_backend_file_CFLAGS = $(BACKEND_TEST_CFLAGS)
tests_unit_test_backend_file_LDADD = $(BACKEND_TEST_LDADD)

tests_unit_test_backend_remote_SOURCES = \
	tests/unit/test-backend-remote.c tests/unit/backend-test-helpers.h
tests_unit_test_backend_remote_CFLAGS = $(BACKEND_TEST_CFLAGS)
tests_unit_test_backend_remote_LDADD = $(BACKEND_TEST_LDADD)

# FLUSH and FUA reach the kernel as fdatasync and RWF_DSYNC, before the reply.
tests_unit_test_backend_file_durable_SOURCES = \
	tests/unit/test-backend-file-durable.c tests/unit/backend-test-helpers.h
tests_unit_test_backend_file_durable_CFLAGS = $(BACKEND_TEST_CFLAGS)
tests_unit_test_backend_file_durable_LDADD = $(BACKEND_TEST_LDADD)

tests_unit_test_backend_rbd_queue_SOURCES = tests/unit/test-backend-rbd-queue.c
tests_unit_test_backend_rbd_queue_CFLAGS = $(BACKEND_TEST_CFLAGS)
tests_unit_test_backend_rbd_queue_LDADD = $(BACKEND_TEST_LDADD)
