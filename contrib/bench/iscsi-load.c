/* SPDX-License-Identifier: MIT */
/*
 * iscsi-load: a small libiscsi load generator for iscsi-bench.sh.
 *
 * libiscsi's iscsi-perf only reads (READ(16)) and reports only an average
 * IOPS figure, and Debian's fio has no libiscsi engine.  This client does
 * what the benchmark needs beyond that: READ(16) or WRITE(16), random or
 * sequential, at a fixed queue depth on one session, for a fixed time, and
 * it reports the completed I/Os, IOPS and the p50/p99 latency of every
 * command (submission to completion callback).  Data lands in (and is sent
 * from) buffers of its own through libiscsi's iovec calls, so the client
 * copies as little as libiscsi lets it.
 *
 *   iscsi-load [-m QD] [-s BYTES] [-w] [-r|-1] [-t SECONDS] [-W BYTES] URL
 *   iscsi-load -I URL     log in, then stay idle until stdin closes
 *
 * The result is one JSON object on stdout.  A benchmark, not a test: it
 * asserts nothing, but any command that does not complete with GOOD status
 * makes it exit 1.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

struct slot {
	struct scsi_iovec iov;
	uint64_t start_ns;
	int busy;
};

struct load {
	struct iscsi_context *iscsi;
	int lun;
	uint32_t block_size;
	uint64_t units;		/* I/O-sized units in the working set */
	uint32_t blocks_per_io;
	uint32_t io_size;
	int write;
	int random;
	int one_pass;	/* sequential: stop after one pass */
	int depth;
	struct slot *slots;
	int in_flight;
	int stopping;
	uint64_t next_unit;	/* sequential position */
	uint64_t submitted;
	uint64_t rng;
	uint64_t ios;
	uint64_t errors;
	uint32_t *lat;		/* latencies in ns, one per completed I/O */
	size_t nlat, cap;
};

static volatile sig_atomic_t interrupted;
static struct load *the_load;	/* one session per process */

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int submit(struct load *l, int i);

static void done(struct iscsi_context *iscsi, int status, void *command_data,
		 void *private_data)
{
	struct load *l = the_load;
	struct scsi_task *task = command_data;
	int i = (int)(intptr_t)private_data;
	uint64_t t = now_ns() - l->slots[i].start_ns;

	if (status != SCSI_STATUS_GOOD) {
		if (l->errors++ == 0)
			fprintf(stderr, "iscsi-load: %s failed: status %d, %s\n",
				l->write ? "WRITE(16)" : "READ(16)", status,
				iscsi_get_error(iscsi));
	} else {
		l->ios++;
		if (l->nlat == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 1u << 16;
			uint32_t *p = realloc(l->lat, cap * sizeof(*p));

			if (p == NULL) {
				fprintf(stderr, "iscsi-load: out of memory\n");
				exit(1);
			}
			l->lat = p;
			l->cap = cap;
		}
		l->lat[l->nlat++] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	}
	if (task != NULL)
		scsi_free_scsi_task(task);
	l->slots[i].busy = 0;
	l->in_flight--;
	if (!l->stopping && l->errors == 0 && submit(l, i) != 0)
		l->stopping = 1;
}

static int submit(struct load *l, int i)
{
	struct slot *s = &l->slots[i];
	struct scsi_task *task;
	uint64_t unit, lba;

	if (l->random) {
		unit = xorshift(&l->rng) % l->units;
	} else {
		unit = l->next_unit++;
		if (l->next_unit >= l->units)
			l->next_unit = 0;
	}
	if (l->one_pass && ++l->submitted >= l->units)
		l->stopping = 1;
	lba = unit * l->blocks_per_io;
	s->busy = 1;
	s->start_ns = now_ns();
	if (l->write)
		task = iscsi_write16_iov_task(l->iscsi, l->lun, lba, NULL,
					      l->io_size, (int)l->block_size,
					      0, 0, 0, 0, 0, done,
					      (void *)(intptr_t)i, &s->iov, 1);
	else
		task = iscsi_read16_iov_task(l->iscsi, l->lun, lba, l->io_size,
					     (int)l->block_size, 0, 0, 0, 0, 0,
					     done, (void *)(intptr_t)i,
					     &s->iov, 1);
	if (task == NULL) {
		fprintf(stderr, "iscsi-load: cannot queue a command: %s\n",
			iscsi_get_error(l->iscsi));
		s->busy = 0;
		return -1;
	}
	l->in_flight++;
	return 0;
}

static int service(struct iscsi_context *iscsi, int timeout_ms, int extra_fd,
		   int *extra_ready)
{
	struct pollfd pfd[2];
	int n = 1;

	pfd[0].fd = iscsi_get_fd(iscsi);
	pfd[0].events = (short)iscsi_which_events(iscsi);
	pfd[0].revents = 0;
	if (extra_fd >= 0) {
		pfd[1].fd = extra_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = 2;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) < 0) {
		if (errno == EINTR)
			return 0;
		perror("iscsi-load: poll");
		return -1;
	}
	if (n == 2 && pfd[1].revents != 0)
		*extra_ready = 1;
	if (pfd[0].revents != 0 && iscsi_service(iscsi, pfd[0].revents) < 0) {
		fprintf(stderr, "iscsi-load: iscsi_service: %s\n",
			iscsi_get_error(iscsi));
		return -1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double pct_us(const uint32_t *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[k] / 1000.0;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v == 0) {
		fprintf(stderr, "iscsi-load: bad size '%s'\n", s);
		exit(2);
	}
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iscsi-load [-m QD] [-s BYTES] [-w] [-r] [-t SECONDS] "
		"[-W BYTES] [-1] [-i IQN] URL\n"
		"       iscsi-load -I [-i IQN] URL   (idle until stdin closes)\n"
		"  -m QD       commands in flight (default 1)\n"
		"  -s BYTES    transfer size, a multiple of the block size "
		"(default 4k)\n"
		"  -w          WRITE(16) instead of READ(16)\n"
		"  -r          random offsets (aligned to -s) instead of "
		"sequential\n"
		"  -t SECONDS  run time (default 10)\n"
		"  -W BYTES    working set from LBA 0 (default: the whole LUN)\n"
		"  -1          sequential, one pass over the working set (or -t)\n"
		"  URL         iscsi://HOST:PORT/IQN/LUN\n");
}

int main(int argc, char **argv)
{
	const char *initiator = "iqn.2026-11.org.polltgt:iscsi-load";
	struct load l;
	struct iscsi_url *url;
	struct scsi_task *task;
	struct scsi_readcapacity16 *rc16;
	uint64_t io_size = 4096, working_set = 0, capacity, t0, t_end, t_last;
	double seconds = 10;
	int idle = 0, c, i, rc = 0;

	memset(&l, 0, sizeof(l));
	l.depth = 1;
	while ((c = getopt(argc, argv, "m:s:wrt:W:i:I1h")) != -1) {
		switch (c) {
		case 'm': l.depth = atoi(optarg); break;
		case 's': io_size = parse_size(optarg); break;
		case 'w': l.write = 1; break;
		case 'r': l.random = 1; break;
		case 't': seconds = atof(optarg); break;
		case 'W': working_set = parse_size(optarg); break;
		case 'i': initiator = optarg; break;
		case 'I': idle = 1; break;
		case '1': l.one_pass = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || l.depth < 1 || l.depth > 1024 ||
	    seconds <= 0 || io_size > (64u << 20) || (l.one_pass && l.random)) {
		usage(stderr);
		return 2;
	}

	l.iscsi = iscsi_create_context(initiator);
	if (l.iscsi == NULL) {
		fprintf(stderr, "iscsi-load: cannot create a libiscsi context\n");
		return 1;
	}
	url = iscsi_parse_full_url(l.iscsi, argv[optind]);
	if (url == NULL) {
		fprintf(stderr, "iscsi-load: bad URL: %s\n",
			iscsi_get_error(l.iscsi));
		return 2;
	}
	iscsi_set_targetname(l.iscsi, url->target);
	iscsi_set_session_type(l.iscsi, ISCSI_SESSION_NORMAL);
	/* What iscsi-perf asks for: no digest unless the target insists. */
	iscsi_set_header_digest(l.iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_noautoreconnect(l.iscsi, 1);
	if (iscsi_full_connect_sync(l.iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "iscsi-load: login failed: %s\n",
			iscsi_get_error(l.iscsi));
		return 1;
	}
	l.lun = url->lun;
	iscsi_destroy_url(url);
	the_load = &l;

	if (idle) {
		int eof = 0;
		char buf[256];

		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		while (!interrupted && !eof) {
			int ready = 0;

			if (service(l.iscsi, 1000, STDIN_FILENO, &ready) != 0) {
				rc = 1;
				break;
			}
			if (ready && read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
				eof = 1;
		}
		iscsi_logout_sync(l.iscsi);
		iscsi_destroy_context(l.iscsi);
		return rc;
	}

	task = iscsi_readcapacity16_sync(l.iscsi, l.lun);
	if (task == NULL || task->status != SCSI_STATUS_GOOD ||
	    (rc16 = scsi_datain_unmarshall(task)) == NULL) {
		fprintf(stderr, "iscsi-load: READ CAPACITY(16) failed: %s\n",
			iscsi_get_error(l.iscsi));
		return 1;
	}
	l.block_size = rc16->block_length;
	capacity = (rc16->returned_lba + 1) * (uint64_t)l.block_size;
	scsi_free_scsi_task(task);
	if (l.block_size == 0 || io_size % l.block_size != 0) {
		fprintf(stderr, "iscsi-load: -s %" PRIu64 " is not a multiple "
			"of the block size %" PRIu32 "\n", io_size, l.block_size);
		return 2;
	}
	if (working_set == 0 || working_set > capacity)
		working_set = capacity;
	l.io_size = (uint32_t)io_size;
	l.blocks_per_io = (uint32_t)(io_size / l.block_size);
	l.units = working_set / io_size;
	if (l.units == 0) {
		fprintf(stderr, "iscsi-load: working set smaller than -s\n");
		return 2;
	}

	l.slots = calloc((size_t)l.depth, sizeof(*l.slots));
	if (l.slots == NULL)
		return 1;
	for (i = 0; i < l.depth; i++) {
		unsigned char *p;

		if (posix_memalign((void **)&p, 4096, io_size) != 0)
			return 1;
		memset(p, 0x5a ^ i, io_size);
		l.slots[i].iov.iov_base = p;
		l.slots[i].iov.iov_len = io_size;
	}
	l.rng = now_ns() | 1;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	t0 = now_ns();
	t_end = t0 + (uint64_t)(seconds * 1e9);
	for (i = 0; i < l.depth && !l.stopping; i++)
		if (submit(&l, i) != 0) {
			l.stopping = 1;
			break;
		}
	while (l.in_flight > 0) {
		int dummy = 0;

		if (service(l.iscsi, 100, -1, &dummy) != 0) {
			rc = 1;
			break;
		}
		if (!l.stopping && (interrupted || now_ns() >= t_end))
			l.stopping = 1;
	}
	t_last = now_ns();

	qsort(l.lat, l.nlat, sizeof(*l.lat), cmp_u32);
	{
		double el = (double)(t_last - t0) / 1e9;

		printf("{\"rw\": \"%s%s\", \"bs\": %" PRIu32 ", \"iodepth\": %d, "
		       "\"block_size\": %" PRIu32 ", \"working_set\": %" PRIu64
		       ", \"ios\": %" PRIu64 ", \"errors\": %" PRIu64
		       ", \"seconds\": %.6f, \"iops\": %.1f, "
		       "\"bw_bytes\": %.0f, \"lat_p50_us\": %.2f, "
		       "\"lat_p99_us\": %.2f, \"lat_p999_us\": %.2f, "
		       "\"lat_max_us\": %.2f}\n",
		       l.random ? "rand" : "seq", l.write ? "write" : "read",
		       l.io_size, l.depth, l.block_size, working_set, l.ios,
		       l.errors, el, (double)l.ios / el,
		       (double)l.ios * l.io_size / el,
		       pct_us(l.lat, l.nlat, 50), pct_us(l.lat, l.nlat, 99),
		       pct_us(l.lat, l.nlat, 99.9),
		       l.nlat ? l.lat[l.nlat - 1] / 1000.0 : 0.0);
	}
	if (rc == 0)
		iscsi_logout_sync(l.iscsi);
	iscsi_destroy_context(l.iscsi);
	return rc != 0 || l.errors != 0 || l.ios == 0;
}
