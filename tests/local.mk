# tests: harness settings shared by every test.
TESTS_ENVIRONMENT = \
	PATH="$(abs_top_builddir)/server:$$PATH" \
	MALLOC_PERTURB_=$$(( $$RANDOM % 255 + 1 )) \
	CK_DEFAULT_TIMEOUT=60 \
	POLLTGT_SRCDIR="$(abs_top_srcdir)" \
	POLLTGT_BUILDDIR="$(abs_top_builddir)"
EXTRA_DIST += tests/functions.sh.in
