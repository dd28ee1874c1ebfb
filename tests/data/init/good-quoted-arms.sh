#!/bin/bash
# Arms written with quotes, a leading parenthesis and spaces around '|';
# a nested case inside an arm does not count as the dispatcher.
### BEGIN INIT INFO
# Provides:          foo
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: foo daemon
### END INIT INFO
# Required-Start and Required-Stop may be empty in LSB (here they are not).

case "$1" in
  "start")
    case "$2" in
      quiet) exec >/dev/null ;;
    esac
    ;;
  (stop) : ;;
  restart | force-reload) : ;;
  'status') : ;;
esac
