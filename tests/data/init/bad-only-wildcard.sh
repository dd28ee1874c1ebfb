#!/bin/sh
### BEGIN INIT INFO
# Provides:          foo
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: foo daemon
### END INIT INFO
case "$1" in
  *) echo "usage" ;;
esac
