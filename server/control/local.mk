# server/control: the status socket (see control.h).
server_libpolltgt_a_SOURCES += \
	server/control/control-protocol.h \
	server/control/control.c server/control/control.h

# polltgtctl, the status socket's command-line client: the protocol header,
# the string buffer and its own JSON reader; none of the daemon.  One file
# per command, the socket client, and polltgtctl.c to dispatch.
bin_PROGRAMS += server/polltgtctl
server_polltgtctl_SOURCES = \
	server/control/polltgtctl.c server/control/polltgtctl-internal.h \
	server/control/polltgtctl-client.c \
	server/control/polltgtctl-stats.c \
	server/control/polltgtctl-top.c \
	server/control/polltgtctl-metrics.c \
	server/control/polltgtctl-set.c \
	server/control/polltgtctl-json.c server/control/polltgtctl-json.h \
	server/control/polltgtctl-table.c server/control/polltgtctl-table.h \
	server/control/control-protocol.h \
	server/util/strbuf.c server/util/strbuf.h
server_polltgtctl_LDADD = -lm
