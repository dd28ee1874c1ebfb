#!/bin/sh
### BEGIN INIT INFO
# Provides:          early
# Required-Start:
# Required-Stop:
# Default-Start:     S
# Default-Stop:
# Short-Description: runs early in boot
### END INIT INFO
case "$1" in start|stop|restart|force-reload|status) : ;; esac
