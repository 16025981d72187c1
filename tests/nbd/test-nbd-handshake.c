/* SPDX-License-Identifier: MIT */
/*
 * NBD handshake, seen from libnbd: NBD_OPT_LIST with descriptions,
 * NBD_OPT_INFO/GO (NAME, DESCRIPTION, BLOCK_SIZE), the default export by
 * empty name and by [nbd] default-export, unknown exports, STARTTLS on a
 * server without TLS, structured replies on and off, LIST/SET_META_CONTEXT,
 * NBD_OPT_EXPORT_NAME (old-style fallback, with and without the 124 zero
 * bytes), and the handshake timeout.
 */
#include <config.h>

#include <libnbd.h>

#include "nbd-test-helpers.h"

#define MIB (1024 * 1024)

static const char conf_main[] =
    "[server]\n"
    "iothreads = 1\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "default-export = second\n"
    "max-payload = 1M\n"
    "handshake-timeout = 200ms\n"
    "[status]\n"
    "socket = none\n"
    "[export first]\n"
    "backend = memory\n"
    "size = 16M\n"
    "description = the first disk\n"
    "[export second]\n"
    "backend = memory\n"
    "size = 1M\n"
    "readonly = yes\n"
    "description = a read-only disk\n"
    "[export plain]\n"
    "backend = memory\n"
    "size = 64K\n";

/* Without default-export: "" means the first export. */
static const char conf_nodefault[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[status]\n"
    "socket = none\n"
    "[export alpha]\n"
    "backend = memory\n"
    "size = 2M\n"
    "[export beta]\n"
    "backend = memory\n"
    "size = 3M\n";

struct listed {
    int n;
    char name[8][64];
    char desc[8][128];
};

static int
list_cb(void *opaque, const char *name, const char *desc)
{
    struct listed *l = opaque;

    if (l->n < 8) {
        snprintf(l->name[l->n], sizeof l->name[0], "%s", name);
        snprintf(l->desc[l->n], sizeof l->desc[0], "%s", desc);
    }
    l->n++;
    return 0;
}

static int
ctx_cb(void *opaque, const char *name)
{
    struct listed *l = opaque;

    if (l->n < 8) {
        snprintf(l->name[l->n], sizeof l->name[0], "%s", name);
    }
    l->n++;
    return 0;
}

static int
find_listed(const struct listed *l, const char *name)
{
    for (int i = 0; i < l->n && i < 8; i++) {
        if (strcmp(l->name[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

static struct nbd_handle *
opt_mode_open(const struct test_server *s)
{
    struct nbd_handle *nbd = test_nbd_create();

    CHECK_NBD(nbd_set_opt_mode(nbd, true) == 0, "nbd_set_opt_mode");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect in option mode");
    CHECK(nbd_aio_is_negotiating(nbd), "not negotiating after connect");
    return nbd;
}

static void
test_list(const struct test_server *s)
{
    struct nbd_handle *nbd = opt_mode_open(s);
    struct listed l = { 0 };
    int i;

    CHECK_NBD(nbd_opt_list(nbd, (nbd_list_callback){ .callback = list_cb,
                                                     .user_data = &l }) == 3,
              "NBD_OPT_LIST should advertise exactly 3 exports");
    CHECK(l.n == 3, "list callback called %d times, want 3", l.n);
    i = find_listed(&l, "first");
    CHECK(i >= 0 && strcmp(l.desc[i], "the first disk") == 0,
          "LIST: export 'first' with description 'the first disk'");
    i = find_listed(&l, "second");
    CHECK(i >= 0 && strcmp(l.desc[i], "a read-only disk") == 0,
          "LIST: export 'second' with description 'a read-only disk'");
    i = find_listed(&l, "plain");
    CHECK(i >= 0 && l.desc[i][0] == '\0',
          "LIST: export 'plain' with an empty description");
    /* Negotiation goes on after LIST. */
    CHECK_NBD(nbd_set_export_name(nbd, "plain") == 0, "set export name");
    CHECK_NBD(nbd_opt_go(nbd) == 0, "NBD_OPT_GO after NBD_OPT_LIST");
    CHECK(nbd_get_size(nbd) == 65536, "size of 'plain'");
    test_nbd_close(nbd);
    printf("ok: NBD_OPT_LIST with descriptions\n");
}

static void
test_info_go(const struct test_server *s)
{
    struct nbd_handle *nbd = test_nbd_create();
    char *str;
    uint8_t buf[4096];

    CHECK_NBD(nbd_set_opt_mode(nbd, true) == 0, "nbd_set_opt_mode");
    CHECK_NBD(nbd_set_full_info(nbd, true) == 0, "nbd_set_full_info");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect");

    /* INFO on 'first': everything, without entering transmission. */
    CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
    CHECK_NBD(nbd_opt_info(nbd) == 0, "NBD_OPT_INFO first");
    CHECK(nbd_aio_is_negotiating(nbd), "NBD_OPT_INFO left negotiation");
    CHECK(nbd_get_size(nbd) == 16 * MIB, "INFO first: size %" PRId64,
          nbd_get_size(nbd));
    CHECK(nbd_is_read_only(nbd) == 0, "INFO first: must be writable");
    str = nbd_get_export_description(nbd);
    CHECK(str && strcmp(str, "the first disk") == 0,
          "INFO first: NBD_INFO_DESCRIPTION '%s'", str ? str : "(none)");
    free(str);
    str = nbd_get_canonical_export_name(nbd);
    CHECK(str && strcmp(str, "first") == 0, "INFO first: NBD_INFO_NAME '%s'",
          str ? str : "(none)");
    free(str);
    CHECK(nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM) == 1,
          "memory export: minimum block size %" PRId64 ", want 1",
          nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM));
    CHECK(nbd_get_block_size(nbd, LIBNBD_SIZE_PREFERRED) == 4096,
          "preferred block size %" PRId64 ", want 4096",
          nbd_get_block_size(nbd, LIBNBD_SIZE_PREFERRED));
    CHECK(nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM) == 1 * MIB,
          "maximum block size %" PRId64 ", want max-payload (1 MiB)",
          nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM));

    /* INFO on the read-only export. */
    CHECK_NBD(nbd_set_export_name(nbd, "second") == 0, "set export name");
    CHECK_NBD(nbd_opt_info(nbd) == 0, "NBD_OPT_INFO second");
    CHECK(nbd_get_size(nbd) == 1 * MIB, "INFO second: size");
    CHECK(nbd_is_read_only(nbd) == 1, "INFO second: must be read-only");
    CHECK(nbd_can_trim(nbd) == 0 && nbd_can_zero(nbd) == 0,
          "a read-only export must not advertise TRIM or WRITE_ZEROES");

    /* Unknown export: INFO and GO fail, negotiation goes on. */
    CHECK_NBD(nbd_set_export_name(nbd, "no-such-export") == 0, "set name");
    CHECK(nbd_opt_info(nbd) == -1, "NBD_OPT_INFO of an unknown export must fail");
    CHECK(nbd_opt_go(nbd) == -1, "NBD_OPT_GO of an unknown export must fail");
    CHECK(nbd_aio_is_negotiating(nbd),
          "after a failed NBD_OPT_GO negotiation must continue");

    /* GO on 'first' and use it. */
    CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
    CHECK_NBD(nbd_opt_go(nbd) == 0, "NBD_OPT_GO first after failures");
    CHECK(nbd_aio_is_ready(nbd), "GO did not enter transmission");
    CHECK(nbd_get_size(nbd) == 16 * MIB, "GO first: size");
    CHECK(nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM) == 1 * MIB,
          "GO first: maximum block size");
    CHECK(nbd_can_flush(nbd) == 1 && nbd_can_fua(nbd) == 1 &&
          nbd_can_trim(nbd) == 1 && nbd_can_zero(nbd) == 1 &&
          nbd_can_fast_zero(nbd) == 1 && nbd_can_cache(nbd) == 1 &&
          nbd_can_multi_conn(nbd) == 1,
          "memory export: flush/fua/trim/zero/fast-zero/cache/multi-conn "
          "must all be advertised");
    test_fill(buf, sizeof buf, 0, 1);
    CHECK_NBD(nbd_pwrite(nbd, buf, sizeof buf, 8192, 0) == 0, "pwrite");
    test_nbd_expect(nbd, buf, sizeof buf, 8192, 0, "after GO");
    test_nbd_close(nbd);
    printf("ok: NBD_OPT_INFO/GO name, description, block size, errors\n");
}

static void
test_default_export(const struct test_server *s)
{
    struct nbd_handle *nbd = test_nbd_create();
    char *str;

    /* [nbd] default-export = second */
    CHECK_NBD(nbd_set_full_info(nbd, true) == 0, "nbd_set_full_info");
    CHECK_NBD(nbd_set_export_name(nbd, "") == 0, "empty export name");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect to ''");
    CHECK(nbd_get_size(nbd) == 1 * MIB,
          "'' must select default-export 'second' (1 MiB), got size %" PRId64,
          nbd_get_size(nbd));
    CHECK(nbd_is_read_only(nbd) == 1, "default export 'second' is read-only");
    str = nbd_get_canonical_export_name(nbd);
    CHECK(str && strcmp(str, "second") == 0,
          "NBD_INFO_NAME for '' must name the default export, got '%s'",
          str ? str : "(none)");
    free(str);
    test_nbd_close(nbd);
    printf("ok: default export by [nbd] default-export\n");
}

static void
test_default_first(void)
{
    struct test_server s = { 0 };
    struct nbd_handle *nbd;

    test_server_start(&s, conf_nodefault);
    nbd = test_nbd_open(&s, "");
    CHECK(nbd_get_size(nbd) == 2 * MIB,
          "without default-export, '' must be the first export (2 MiB), "
          "got %" PRId64, nbd_get_size(nbd));
    test_nbd_close(nbd);
    test_server_stop(&s);
    printf("ok: default export is the first one without default-export\n");
}

static void
test_tls(const struct test_server *s)
{
    struct nbd_handle *nbd;
    uint8_t buf[512];

    nbd = test_nbd_create();
    if (!nbd_supports_tls(nbd)) {
        nbd_close(nbd);
        printf("skip: libnbd built without TLS: STARTTLS not tested\n");
        return;
    }
    nbd_close(nbd);
    /* TLS required: the server refuses STARTTLS, libnbd must give up. */
    nbd = test_nbd_create();
    CHECK_NBD(nbd_set_tls(nbd, LIBNBD_TLS_REQUIRE) == 0, "set tls require");
    CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
    CHECK(nbd_connect_unix(nbd, s->sock) == -1,
          "TLS required but the server has no TLS: connect must fail");
    nbd_close(nbd);

    /* TLS allowed: falls back to plaintext and works. */
    nbd = test_nbd_create();
    CHECK_NBD(nbd_set_tls(nbd, LIBNBD_TLS_ALLOW) == 0, "set tls allow");
    CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0,
              "TLS allowed: must fall back to plaintext after STARTTLS fails");
    CHECK(nbd_get_tls_negotiated(nbd) == 0, "TLS cannot have been negotiated");
    CHECK_NBD(nbd_pread(nbd, buf, sizeof buf, 0, 0) == 0, "pread after fallback");
    test_nbd_close(nbd);
    printf("ok: STARTTLS refused cleanly; TLS allow falls back\n");
}

static void
test_structured(const struct test_server *s)
{
    struct nbd_handle *nbd;
    uint8_t buf[8192], want[8192];

    for (int sr = 0; sr <= 1; sr++) {
        nbd = test_nbd_create();
        CHECK_NBD(nbd_set_request_structured_replies(nbd, sr) == 0,
                  "set structured replies");
        CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
        CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect sr=%d", sr);
        CHECK(nbd_get_structured_replies_negotiated(nbd) == sr,
              "structured replies negotiated %d, want %d",
              nbd_get_structured_replies_negotiated(nbd), sr);
        /* DF only makes sense with structured replies. */
        CHECK(nbd_can_df(nbd) == sr, "can_df %d with structured=%d",
              nbd_can_df(nbd), sr);
        test_fill(want, sizeof want, 40960, 7 + (uint32_t)sr);
        CHECK_NBD(nbd_pwrite(nbd, want, sizeof want, 40960, 0) == 0, "pwrite");
        CHECK_NBD(nbd_pread(nbd, buf, sizeof buf, 40960, 0) == 0, "pread");
        CHECK(memcmp(buf, want, sizeof buf) == 0,
              "data read back differs (structured=%d)", sr);
        test_nbd_close(nbd);
    }
    printf("ok: structured replies on and off\n");
}

static void
test_meta_context(const struct test_server *s)
{
    struct nbd_handle *nbd = opt_mode_open(s);
    struct listed l = { 0 };
    int r;

    CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
    /* No query: every context; we serve base:allocation. */
    r = nbd_opt_list_meta_context(
        nbd, (nbd_context_callback){ .callback = ctx_cb, .user_data = &l });
    CHECK_NBD(r >= 1, "NBD_OPT_LIST_META_CONTEXT with no query");
    CHECK(find_listed(&l, "base:allocation") >= 0,
          "LIST_META_CONTEXT did not list base:allocation");

    /* An explicit query. */
    memset(&l, 0, sizeof l);
    CHECK_NBD(nbd_add_meta_context(nbd, "base:allocation") == 0, "add ctx");
    r = nbd_opt_list_meta_context(
        nbd, (nbd_context_callback){ .callback = ctx_cb, .user_data = &l });
    CHECK(r == 1 && l.n == 1 && strcmp(l.name[0], "base:allocation") == 0,
          "LIST_META_CONTEXT base:allocation: got %d replies", r);

    /* An unknown namespace is ignored: zero contexts, success. */
    memset(&l, 0, sizeof l);
    CHECK_NBD(nbd_clear_meta_contexts(nbd) == 0, "clear");
    CHECK_NBD(nbd_add_meta_context(nbd, "x-polltgt-test:nothing") == 0, "add");
    r = nbd_opt_list_meta_context(
        nbd, (nbd_context_callback){ .callback = ctx_cb, .user_data = &l });
    CHECK(r == 0 && l.n == 0,
          "LIST_META_CONTEXT of an unknown namespace must succeed with no "
          "context, got r=%d n=%d", r, l.n);
    /* SET with only the unknown context: GO works, nothing selected. */
    CHECK_NBD(nbd_opt_go(nbd) == 0, "GO after an unknown SET_META_CONTEXT");
    CHECK(nbd_can_meta_context(nbd, "base:allocation") == 0,
          "base:allocation must not be selected");
    test_nbd_close(nbd);

    /* SET base:allocation (libnbd sends it before GO). */
    nbd = test_nbd_create();
    CHECK_NBD(nbd_add_meta_context(nbd, "base:allocation") == 0, "add ctx");
    CHECK_NBD(nbd_add_meta_context(nbd, "x-polltgt-test:other") == 0, "add");
    CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect");
    CHECK(nbd_can_meta_context(nbd, "base:allocation") == 1,
          "base:allocation must be selected");
    CHECK(nbd_can_meta_context(nbd, "x-polltgt-test:other") == 0,
          "an unknown context must not be selected");
    test_nbd_close(nbd);

    /* Without structured replies there is no metadata context. */
    nbd = test_nbd_create();
    CHECK_NBD(nbd_set_request_structured_replies(nbd, false) == 0, "sr off");
    CHECK_NBD(nbd_add_meta_context(nbd, "base:allocation") == 0, "add ctx");
    CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect");
    CHECK(nbd_can_meta_context(nbd, "base:allocation") == 0,
          "base:allocation without structured replies");
    test_nbd_close(nbd);
    printf("ok: LIST/SET_META_CONTEXT\n");
}

static void
test_export_name(const struct test_server *s)
{
    struct nbd_handle *nbd;
    uint8_t buf[4096];

    /* flags 0: no FIXED_NEWSTYLE, no NO_ZEROES: libnbd can only send
     * NBD_OPT_EXPORT_NAME, and the server must send the 124 zero bytes. */
    for (int fl = 0; fl <= 1; fl++) {
        uint32_t hs = fl ? LIBNBD_HANDSHAKE_FLAG_NO_ZEROES : 0;

        nbd = test_nbd_create();
        CHECK_NBD(nbd_set_handshake_flags(nbd, hs) == 0, "handshake flags");
        CHECK_NBD(nbd_set_export_name(nbd, "first") == 0, "set export name");
        CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0,
                  "NBD_OPT_EXPORT_NAME connect (client flags %u)", hs);
        CHECK(nbd_get_size(nbd) == 16 * MIB, "EXPORT_NAME: size");
        CHECK(nbd_get_structured_replies_negotiated(nbd) == 0,
              "structured replies without fixed newstyle");
        CHECK(nbd_can_flush(nbd) == 1 && nbd_can_trim(nbd) == 1,
              "EXPORT_NAME: transmission flags");
        test_fill(buf, sizeof buf, 12345, 3);
        CHECK_NBD(nbd_pwrite(nbd, buf, sizeof buf, 12345, 0) == 0, "pwrite");
        test_nbd_expect(nbd, buf, sizeof buf, 12345, 0, "EXPORT_NAME path");
        test_nbd_close(nbd);
    }

    /* Unknown export: the server must hang up, and stay up. */
    nbd = test_nbd_create();
    CHECK_NBD(nbd_set_handshake_flags(nbd, 0) == 0, "handshake flags");
    CHECK_NBD(nbd_set_export_name(nbd, "no-such-export") == 0, "name");
    CHECK(nbd_connect_unix(nbd, s->sock) == -1,
          "NBD_OPT_EXPORT_NAME of an unknown export must fail");
    nbd_close(nbd);

    /* The default export by the old path too. */
    nbd = test_nbd_create();
    CHECK_NBD(nbd_set_handshake_flags(nbd, 0) == 0, "handshake flags");
    CHECK_NBD(nbd_set_export_name(nbd, "") == 0, "name");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "EXPORT_NAME ''");
    CHECK(nbd_get_size(nbd) == 1 * MIB && nbd_is_read_only(nbd) == 1,
          "EXPORT_NAME '' must be default-export 'second'");
    test_nbd_close(nbd);
    printf("ok: NBD_OPT_EXPORT_NAME (with and without zero padding)\n");
}

static void
test_handshake_timeout(struct test_server *s)
{
    struct nbd_handle *nbd;
    int silent, stalled;
    uint8_t greeting[18], buf[4096];
    int64_t t0, t;
    size_t extra;
    bool closed;

    /* A finished handshake is not subject to the timeout. */
    nbd = test_nbd_open(s, "first");

    t0 = test_now_ms();
    silent = test_connect_unix(s->sock);
    CHECK(silent >= 0, "connect");
    CHECK(test_read_full(silent, greeting, sizeof greeting, 2000) == 18,
          "no greeting");
    /* A second one that stops in the middle of an option. */
    stalled = test_connect_unix(s->sock);
    CHECK(stalled >= 0, "connect");
    raw_greet(stalled, 3);
    raw_write_full(stalled, "IHAVEOPT\0\0\0\7", 12); /* half a header */

    /* Meanwhile the libnbd client is served. */
    for (int i = 0; i < 20; i++) {
        test_fill(buf, sizeof buf, (uint64_t)i * 4096, 9);
        CHECK_NBD(nbd_pwrite(nbd, buf, sizeof buf, (uint64_t)i * 4096, 0) == 0,
                  "pwrite while a client stalls");
        test_nbd_expect(nbd, buf, sizeof buf, (uint64_t)i * 4096, 0,
                        "while a client stalls");
    }

    closed = raw_expect_eof(silent, 5000, &extra);
    t = test_now_ms() - t0;
    CHECK(closed, "a silent client was not disconnected within 5 s "
          "(handshake-timeout = 200ms); %zu unexpected bytes", extra);
    CHECK(t >= 150, "silent client closed after %" PRId64 " ms, before the "
          "200 ms handshake timeout", t);
    closed = raw_expect_eof(stalled, 5000, &extra);
    CHECK(closed, "a client stalled mid-option was not disconnected");
    close(silent);
    close(stalled);

    /* Well past the timeout the negotiated client still works. */
    test_sleep_ms(400);
    test_nbd_expect(nbd, buf, sizeof buf, 19 * 4096, 0,
                    "after the handshake timeout of others");
    test_nbd_close(nbd);
    test_server_check_alive(s);
    printf("ok: handshake-timeout closes silent clients only (%" PRId64
           " ms)\n", t);
}

int
main(void)
{
    struct test_server s = { 0 };

    test_init("test-nbd-handshake", 120);
    test_server_start(&s, conf_main);
    test_list(&s);
    test_info_go(&s);
    test_default_export(&s);
    test_tls(&s);
    test_structured(&s);
    test_meta_context(&s);
    test_export_name(&s);
    test_handshake_timeout(&s);
    test_server_check_alive(&s);
    test_server_stop(&s);
    test_default_first();
    return T_EXIT_PASS;
}
