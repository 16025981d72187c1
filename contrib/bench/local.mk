# contrib/bench: benchmarks (built by `make`, never run by `make check`).
noinst_PROGRAMS += contrib/bench/pingpong
contrib_bench_pingpong_SOURCES = contrib/bench/pingpong.c
contrib_bench_pingpong_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS)
contrib_bench_pingpong_LDADD = $(POLLTGT_LIBS)
EXTRA_DIST += contrib/bench/nbd-bench.sh contrib/bench/README.md
