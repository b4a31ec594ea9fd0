#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those missing.
# chromium: browser tests of map/sankey/report; python3-qgis: plugin tests;
# python3-pip: the plugin's own installer runs pip (into its private folder only);
# qgis, xvfb, xauth: the plugin's packages checked inside the real QGIS application;
# grass-core: the r.sun side-by-side check of the rooftop irradiation;
# fonts-dejavu-core: legible text in the page and QGIS canvas screenshots;
# postgresql, postgresql-15-postgis-3: the real PostGIS server tests/test_postgis.py starts (Debian 12's names).
set -euo pipefail
want=(chromium fonts-dejavu-core python3-qgis qgis-providers python3-pip qgis xvfb xauth grass-core postgresql postgresql-15-postgis-3)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
