#!/bin/sh
echo "hello from the local build service"
