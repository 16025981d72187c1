# server/util: small helpers shared by every module.
server_libpolltgt_a_SOURCES += \
	server/util/cleanup.c server/util/cleanup.h \
	server/util/clock.h server/util/compiler.h server/util/minmax.h \
	server/util/md5.c server/util/md5.h \
	server/util/parse.c server/util/parse.h \
	server/util/strbuf.c server/util/strbuf.h

check_PROGRAMS += tests/unit/test-parse
TESTS += tests/unit/test-parse
tests_unit_test_parse_SOURCES = tests/unit/test-parse.c
tests_unit_test_parse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_parse_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-md5
TESTS += tests/unit/test-md5
tests_unit_test_md5_SOURCES = tests/unit/test-md5.c
tests_unit_test_md5_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_md5_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
