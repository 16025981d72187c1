/* SPDX-License-Identifier: MIT */
/*
 * The status socket's wire format, shared by the server (control.c) and
 * polltgtctl.
 *
 * A request is one line of text (at most CONTROL_MAX_REQUEST bytes with the
 * newline).  Each request gets one response: a header line
 * "OK <length>\n" or "ERR <length>\n", then exactly <length> bytes of body
 * (JSON, Prometheus text, or a message).  Several requests may be sent on
 * one connection; responses come in order.
 */
#ifndef POLLTGT_CONTROL_CONTROL_PROTOCOL_H
#define POLLTGT_CONTROL_CONTROL_PROTOCOL_H

#define CONTROL_MAX_REQUEST 4096
#define CONTROL_DEFAULT_SOCKET "polltgt.sock"

#endif /* POLLTGT_CONTROL_CONTROL_PROTOCOL_H */
