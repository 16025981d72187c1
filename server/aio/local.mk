# server/aio: the I/O-thread event loop (see aio.h).
server_libpolltgt_a_SOURCES += \
	server/aio/aio.h server/aio/aio-internal.h server/aio/aio.c \
	server/aio/fdmon-epoll.c server/aio/uring.c server/aio/notifier.c \
	server/aio/msgq.c server/aio/timer.c server/aio/wakecost.c

check_PROGRAMS += tests/unit/test-aio
TESTS += tests/unit/test-aio
tests_unit_test_aio_SOURCES = tests/unit/test-aio.c
tests_unit_test_aio_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_aio_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-aio-wakecost
TESTS += tests/unit/test-aio-wakecost
tests_unit_test_aio_wakecost_SOURCES = tests/unit/test-aio-wakecost.c
tests_unit_test_aio_wakecost_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_aio_wakecost_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
