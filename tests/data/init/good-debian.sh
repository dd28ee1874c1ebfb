#!/bin/sh
# A complete LSB init script: optional keywords, an extension, a long description.
### BEGIN INIT INFO
# Provides:          foo foo-helper
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Should-Start:      $network
# Should-Stop:       $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# X-Interactive:     true
# Short-Description: foo daemon
# Description:       The foo daemon keeps the cluster in step.
#                    It spans two lines.
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
