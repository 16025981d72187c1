# server/stats: I/O statistics and their JSON and Prometheus formatting.
server_libpolltgt_a_SOURCES += \
	server/stats/stats.c server/stats/stats.h \
	server/stats/report.h \
	server/stats/stats-json.c server/stats/stats-prom.c
