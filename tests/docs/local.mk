# tests/docs: the manual pages against the code.
check_PROGRAMS += tests/docs/dump-keys
tests_docs_dump_keys_SOURCES = tests/docs/dump-keys.c
tests_docs_dump_keys_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS)
tests_docs_dump_keys_LDADD = $(POLLTGT_LIBS)

TESTS += tests/docs/test-docs-keys.sh
EXTRA_DIST += tests/docs/test-docs-keys.sh
