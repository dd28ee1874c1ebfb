#!/bin/sh
### BEGIN INIT INFO
# provides: foo
# Required-Start: $syslog
# Required-Stop: $syslog
# Requires-Start: $network
# Default-Start: 2 3 4 5
# Default-Stop: 0 1 6
# Short-Description: foo
### END INIT INFO
case "$1" in
  start)
    start_foo
    ;;
  stop)
    stop_foo
    ;;
  restart|force-reload)
    stop_foo; start_foo
    ;;
  status)
    status_of_proc foo
    ;;
  *)
    echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2
    exit 3
    ;;
esac
