# man: the manual pages, installed and distributed as written (no
# substitution), checked by tests/docs/test-docs-keys.sh.
dist_man_MANS = man/polltgtd.8 man/polltgt.ini.5
dist_man_MANS += man/polltgtctl.8
