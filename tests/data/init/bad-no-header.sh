#!/bin/sh
# no header at all
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
