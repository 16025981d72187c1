# contrib/bench: benchmarks (built by `make`, never run by `make check`).
noinst_PROGRAMS += contrib/bench/pingpong contrib/bench/iscsi-load
contrib_bench_pingpong_SOURCES = contrib/bench/pingpong.c
contrib_bench_pingpong_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS)
contrib_bench_pingpong_LDADD = $(POLLTGT_LIBS)
# iscsi-load: the libiscsi client iscsi-bench.sh uses for writes and latency.
contrib_bench_iscsi_load_SOURCES = contrib/bench/iscsi-load.c
contrib_bench_iscsi_load_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
contrib_bench_iscsi_load_LDADD = $(LIBISCSI_LIBS)
EXTRA_DIST += contrib/bench/nbd-bench.sh contrib/bench/iscsi-bench.sh \
	contrib/bench/bench-lib.sh contrib/bench/README.md \
	contrib/bench/policy-study.sh contrib/bench/policy-study-report.py \
	contrib/bench/results/policy-study-2026-12-03/report.md \
	contrib/bench/results/policy-study-2026-12-03/latency-cpu-it1.png \
	contrib/bench/results/policy-study-2026-12-03/latency-cpu-it2.png \
	contrib/bench/results/policy-study-2026-12-03/window-mixed-it1.png \
	contrib/bench/results/policy-study-2026-12-03/window-mixed-it2.png
