# server/aio: the I/O-thread event loop (see aio.h).
server_libpolltgt_a_SOURCES += \
	server/aio/aio.h server/aio/aio-internal.h server/aio/aio.c \
	server/aio/handler.c server/aio/ctx.c \
	server/aio/fdmon-epoll.c server/aio/uring.c server/aio/notifier.c \
	server/aio/msgq.c server/aio/timer.c server/aio/wakecost.c

# One test binary per part of the loop: fd handlers, the io_uring ring,
# messages and the notifier, timers, bottom halves, live parameters.
AIO_TEST_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += \
	tests/unit/test-aio-handlers \
	tests/unit/test-aio-uring \
	tests/unit/test-aio-msgq \
	tests/unit/test-aio-timers \
	tests/unit/test-aio-bh \
	tests/unit/test-aio-params
TESTS += \
	tests/unit/test-aio-handlers \
	tests/unit/test-aio-uring \
	tests/unit/test-aio-msgq \
	tests/unit/test-aio-timers \
	tests/unit/test-aio-bh \
	tests/unit/test-aio-params

tests_unit_test_aio_handlers_SOURCES = \
	tests/unit/test-aio-handlers.c tests/unit/aio-test-helpers.h
tests_unit_test_aio_handlers_CFLAGS = $(AIO_TEST_CFLAGS)
tests_unit_test_aio_handlers_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_aio_uring_SOURCES = \
	tests/unit/test-aio-uring.c tests/unit/aio-test-helpers.h
tests_unit_test_aio_uring_CFLAGS = $(AIO_TEST_CFLAGS)
tests_unit_test_aio_uring_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_aio_msgq_SOURCES = \
	tests/unit/test-aio-msgq.c tests/unit/aio-test-helpers.h
tests_unit_test_aio_msgq_CFLAGS = $(AIO_TEST_CFLAGS)
tests_unit_test_aio_msgq_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_aio_timers_SOURCES = \
	tests/unit/test-aio-timers.c tests/unit/aio-test-helpers.h
tests_unit_test_aio_timers_CFLAGS = $(AIO_TEST_CFLAGS)
tests_unit_test_aio_timers_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_aio_bh_SOURCES = \
	tests/unit/test-aio-bh.c tests/unit/aio-test-helpers.h
tests_unit_test_aio_bh_CFLAGS = $(AIO_TEST_CFLAGS)
tests_unit_test_aio_bh_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_aio_params_SOURCES = \
	tests/unit/test-aio-params.c tests/unit/aio-test-helpers.h
tests_unit_test_aio_params_CFLAGS = $(AIO_TEST_CFLAGS)
tests_unit_test_aio_params_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-aio-wakecost
TESTS += tests/unit/test-aio-wakecost
tests_unit_test_aio_wakecost_SOURCES = tests/unit/test-aio-wakecost.c
tests_unit_test_aio_wakecost_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_aio_wakecost_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
