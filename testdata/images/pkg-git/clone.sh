#!/bin/sh
# clone.sh clones the image's repository through git's file:// transport
# (git-upload-pack on the far side) and prints what it got.
set -e
rm -rf /tmp/clone
git clone --quiet file:///home/dev/repo.git /tmp/clone
cd /tmp/clone
git log --format='%h %an %s'
git ls-files
cat README
