#!/usr/bin/env bash
# build.sh OUT — build regscan's test images from real Debian packages (run as root, Debian host).
#
# Writes, below OUT:
#   oci/                 OCI image layout with the tags
#                          base        bookworm minbase + ca-certificates curl openssl libxml2 less, 1 layer (gzip)
#                          base-jq     base + layer 2 (apt-get install jq; apt-get purge less; rm /etc/issue.net),
#                                      made by `umoci repack`, so it carries real whiteouts
#                          base-zstd   base-jq with both layers recompressed as zstd (same config/diff ids)
#                          distroless  1 layer, 5 packages recorded distroless-style in var/lib/dpkg/status.d/<pkg>
#                                      (control paragraph, no Status field) + <pkg>.md5sums; no var/lib/dpkg/status
#                          base-arm64  bookworm essential + ca-certificates curl openssl for arm64 (chrootless, no qemu)
#                          multi       OCI image index: linux/amd64 -> base, linux/arm64 -> base-arm64
#                          node-app    base + layer 2 (apt-get install nodejs) + layer 3 (/app: package.json,
#                                      package-lock.json v3, node_modules from a real `npm install` on the host)
#                          python-app  base + layer 2 (apt-get install python3 python3-venv python3-requests …)
#                                      + layer 3 (/opt/venv: `python3 -m venv --system-site-packages`, pip install wheel)
#                          go-java-app base + layer 2 (/usr/local/bin/umoci: the host's Debian umoci, a Go binary
#                                      built without modules; /usr/local/bin/esbuild: Go binary with module
#                                      info, from npm @esbuild/linux-x64; /opt/app/lib/*.jar from assets/)
#   archives/            base-jq.oci.tar (oci-archive), base-jq.docker.tar (docker-archive,
#                        regscan-test/base-jq:latest), multi.oci.tar (oci-archive, both platforms)
#   truth/<tag>.dpkg.tsv     ground truth from the real dpkg-query on the unpacked image, sorted:
#                            Package Version Architecture source:Package source:Version (tab separated)
#   truth/<tag>.os-release   the image's os-release
#   truth/node-app.npm.json      `npm ls --all --json` run in the app directory right after the install
#   truth/python-app.pypi.tsv    Name Version directory of every distribution importlib.metadata finds in
#                                /usr/lib/python3/dist-packages and /opt/venv/lib/python3*/site-packages
#                                (run in the image's chroot before repack), sorted
#   truth/go-java-app.gomod.txt  `go version -m usr/local/bin/umoci usr/local/bin/esbuild` run in the
#                                layer's directory; without a Go toolchain the committed copies in assets/
#                                are used, if the binaries are byte-identical to the ones they describe
#   truth/go-java-app.maven.tsv  groupId artifactId version jar-path from every META-INF/maven/**/pom.properties
#                                of the jars (`unzip -p`), sorted
#   images.json          per tag: manifest/config digests, layers (digest, diff id, size, media type,
#                        whiteouts), platform, package count; archives
#   .complete            written last; if present the script exits at once (REGSCAN_IMAGES_FORCE=1 rebuilds)
# Concurrent runs for the same OUT are serialised with flock on OUT.lock.
#
# The expensive part, the mmdebstrap root file systems, is cached as .tar.zst in
# ${REGSCAN_ROOTFS_CACHE:-OUT/rootfs-cache}, keyed by the mmdebstrap arguments, so a rebuild takes
# seconds plus a few apt-gets in chroots. Needs: mmdebstrap umoci skopeo zstd jq unzip (Debian packages);
# npm (the npm registry) when the node app / esbuild caches (also in the rootfs cache dir) are cold;
# go (golang-go) only if the Go binaries differ from the ones the committed assets describe.
#
# Safety: chroot bind mounts live below a private work dir in OUT; they are unmounted before anything
# is removed, and removal uses `rm --one-file-system`.
set -Eeuo pipefail
shopt -s nullglob

log() { printf '[build.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 OUTDIR"
OUT=$(realpath -m "$1")
ROOTFS_CACHE=$(realpath -m "${REGSCAN_ROOTFS_CACHE:-$OUT/rootfs-cache}")
FORCE=${REGSCAN_IMAGES_FORCE:-0}

# one build per OUT at a time: concurrent callers wait here, then find .complete (the kernel drops
# the lock when its holder dies, so there are no stale locks)
mkdir -p "$(dirname "$OUT")"
exec 9>> "$OUT.lock"
if ! flock -n 9; then
  log "waiting for another build of $OUT"
  flock 9
fi
if [[ $FORCE != 1 && -f $OUT/.complete ]]; then
  log "up to date: $OUT"
  exit 0
fi
[[ $EUID == 0 ]] || die "must run as root (mmdebstrap, chroot and umoci unpack keep file ownership)"
for tool in mmdebstrap umoci skopeo zstd jq dpkg-query tar unshare chroot unzip sha256sum; do
  command -v "$tool" > /dev/null || die "missing tool: $tool (apt-get install mmdebstrap umoci skopeo zstd jq unzip)"
done

SUITE=bookworm
MIRRORS=("deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://deb.debian.org/debian-security $SUITE-security main")
BASE_PKGS=ca-certificates,curl,openssl,libxml2,less
ARM64_PKGS=ca-certificates,curl,openssl
DISTROLESS_PKGS=(base-files libc6 libssl3 ca-certificates zlib1g)
NODE_DEBS=(nodejs)
NODE_APP_DEPS=(lodash@4.17.15 minimist@1.2.0 express@4.17.1) # old versions with known advisories
NODE_APP_PACKAGE_JSON='{
  "name": "regscan-test-node-app",
  "version": "1.0.0",
  "private": true,
  "description": "regscan test image: a node app whose dependencies have known advisories"
}'
# python3-wheel-whl: the wheel that `pip install --no-index --find-links /usr/share/python-wheels wheel` installs
PY_DEBS=(python3 python3-venv python3-wheel-whl python3-requests python3-yaml)
ESBUILD_PKG=@esbuild/linux-x64@0.19.12 # built with go1.20.12 (0.28.x: go1.26, which go1.19 cannot read)
# Files build.sh takes from outside: pinned here, so that the image set's cache key (the hash of this
# script) changes whenever one of them does. Go binaries: sha256 of the binary each committed
# assets/<name>.go-version-m.txt describes (umoci: Debian bookworm umoci 0.4.7+ds-3+b7).
ASSETS=$(dirname "$(realpath "${BASH_SOURCE[0]}")")/assets
declare -A ASSET_SHA256=(
  [example-java-app-maven-0.1.0.jar]=93e3cea225b18e08da7891f79fc4bc7642903940023698d9b4dc93b94b340873
  [jackson-annotations-2.15.0-rc2.jar]=9931d72fbe65045cf7fb31e82784ac75130003e04012aac2d1874982093377a8
  [umoci.go-version-m.txt]=d037f0959f74b1e1e4fd7fb0028e5d568a5a14308f4c241044f8c6367b8a89bb
  [esbuild.go-version-m.txt]=af00c78ab9be0b68e46e88c8b78a1d29571616fc82fcb1062e302d799f97813b
)
JARS=(example-java-app-maven-0.1.0.jar jackson-annotations-2.15.0-rc2.jar)
declare -A GO_BINARY_SHA256=(
  [umoci]=3c0fefdb6ec73d5f186e05b88644e3cd555a2ed00713ee69a1e52eb72a724a76
  [esbuild]=53166012997a335bfb55b1a0daf7c7bec426510f95b9cd857723f4ead263e931
)
# shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook shell
MMDEB_OPTS=(--format=tar
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr # merged /usr by symlinks (no usrmerge + perl)
  --skip=output/dev                                 # no device nodes in the layer
  --aptopt='Acquire::Retries "3"'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"') # don't leak the build host's
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_INDEX=application/vnd.oci.image.index.v1+json

SINGLE_TAGS=(base base-jq base-zstd distroless base-arm64 node-app python-app go-java-app)

OCI=$OUT/oci
ARCHIVES=$OUT/archives
TRUTH=$OUT/truth
WORK=

# ---------- mounts and removal ----------
unmount_below() { # unmount everything mounted below $1, deepest first
  local m
  awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
}
saferm() {
  local p
  for p in "$@"; do
    [[ -e $p || -L $p ]] || continue
    unmount_below "$p"
    rm -rf --one-file-system "$p"
  done
}
on_exit() {
  local rc=$?
  if [[ -n $WORK ]]; then saferm "$WORK"; fi
  if ((rc != 0)); then log "FAILED (exit $rc)"; fi
}
trap on_exit EXIT
trap 'exit 143' TERM INT # run on_exit (unmount, clean up) when killed too

# run a step and log how long it took
timed() {
  local name=$1 start=$EPOCHREALTIME
  shift
  "$@"
  log "$name: $(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')s"
}

# ---------- helpers ----------
sha12() { sha256sum | cut -c1-12; }
blob() { echo "$OCI/blobs/sha256/${1#sha256:}"; }
manifest_of() { # manifest_of TAG -> digest of the index.json entry with that ref name
  jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
    "$OCI/index.json"
}
# skopeo with a private /var/lib/containers (its blob-info cache) and an accept-anything policy, so
# nothing is written to the host and earlier runs cannot influence blob reuse
sk() {
  mkdir -p "$WORK/containers"
  [[ -f $WORK/policy.json ]] || echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$WORK/policy.json"
  [[ -d /var/lib/containers ]] || mkdir -p /var/lib/containers # empty mount point
  # shellcheck disable=SC2016 # expanded by the inner sh
  TMPDIR=$WORK unshare --mount --propagation private \
    sh -c 'mount --bind "$0" /var/lib/containers && exec "$@"' "$WORK/containers" \
    skopeo --policy "$WORK/policy.json" "$@"
}

# ---------- root file systems (cached) ----------
rootfs() { # rootfs NAME ARGS... -> path of a cached .tar.zst made by `mmdebstrap ARGS... SUITE FILE MIRRORS`
  local name=$1 key file tmp
  shift
  key=$(printf '%s\n' "$@" "$SUITE" "${MIRRORS[@]}" | sha12)
  file=$ROOTFS_CACHE/rootfs-$name-$key.tar.zst
  if [[ ! -s $file ]]; then
    mkdir -p "$ROOTFS_CACHE"
    tmp=$ROOTFS_CACHE/.rootfs-$name-$key.$$.tar.zst # name must end in .tar.zst: mmdebstrap picks the format from it
    log "mmdebstrap $name (log: $WORK/mmdebstrap-$name.log)"
    if ! mmdebstrap "$@" "$SUITE" "$tmp" "${MIRRORS[@]}" > "$WORK/mmdebstrap-$name.log" 2>&1; then
      rm -f "$tmp"
      tail -n 30 "$WORK/mmdebstrap-$name.log" >&2
      die "mmdebstrap $name failed"
    fi
    mv "$tmp" "$file"
  fi
  echo "$file"
}

# ---------- chroot with /dev, /dev/pts, /proc and a temporary resolv.conf ----------
chroot_run() { # chroot_run ROOTFS SCRIPT
  local r=$1 rc=0
  mkdir -p "$r/dev" "$r/proc"
  mount --bind /dev "$r/dev"
  mount --bind /dev/pts "$r/dev/pts"
  mount -t proc proc "$r/proc"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  chroot "$r" /usr/bin/env -i "$PATH_ENV" HOME=/root DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    /bin/sh -euc "$2" || rc=$?
  rm -f "$r/etc/resolv.conf"
  umount "$r/proc" "$r/dev/pts" "$r/dev" || unmount_below "$r"
  return $rc
}

# ---------- images ----------
build_base() {
  zstd -dcq "$1" > "$WORK/rootfs-amd64.tar"
  umoci new --image "$OCI:base"
  umoci raw add-layer --image "$OCI:base" --history.created_by \
    "mmdebstrap --variant=minbase --include=$BASE_PKGS $SUITE" "$WORK/rootfs-amd64.tar"
  umoci config --image "$OCI:base" --no-history --os linux --architecture amd64 \
    --config.env "$PATH_ENV" --config.cmd /bin/bash \
    --config.label org.opencontainers.image.title=base --config.label org.opencontainers.image.version=12-minbase
  rm -f "$WORK/rootfs-amd64.tar"
}

# distroless: a few packages of the base rootfs ($1), recorded the way distroless images record them
# (GoogleContainerTools/distroless PACKAGE_METADATA.md): var/lib/dpkg/status.d/<pkg> holds the
# package's control paragraph (no Status field), status.d/<pkg>.md5sums its md5sums; there is no
# var/lib/dpkg/status and no var/lib/dpkg/info.
build_distroless() {
  local src=$1 stage=$WORK/distroless d=$WORK/distroless-files.txt p list md5 status=$1/var/lib/dpkg/status
  mkdir -p "$stage/var/lib/dpkg/status.d" "$stage/etc" "$stage/tmp" "$stage/usr"
  : > "$d"
  for p in "${DISTROLESS_PKGS[@]}"; do
    list=$src/var/lib/dpkg/info/$p.list md5=$src/var/lib/dpkg/info/$p.md5sums
    [[ -f $list ]] || list=$src/var/lib/dpkg/info/$p:amd64.list
    [[ -f $md5 ]] || md5=$src/var/lib/dpkg/info/$p:amd64.md5sums
    [[ -f $list && -f $md5 ]] || die "distroless: package $p is not in the base rootfs"
    # the paragraph of $p, without the fields only dpkg's own database has
    awk -v RS= -v pkg="$p" '$0 ~ ("^Package: " pkg "\n") { print; found = 1 } END { exit !found }' "$status" |
      awk '/^[^ \t]/ { skip = ($0 ~ /^(Status|Conffiles|Config-Version):/) } !skip' \
        > "$stage/var/lib/dpkg/status.d/$p" || die "distroless: no status paragraph for $p"
    cp "$md5" "$stage/var/lib/dpkg/status.d/$p.md5sums"
    # the package's files; /bin /lib /lib64 /sbin are symlinks into /usr (merged /usr)
    sed -E -e 's#^/##' -e 's#^(bin|sbin|lib|lib64)(/|$)#usr/\1\2#' "$list" | grep -vx '\.' >> "$d"
  done
  echo etc/ssl/certs/ca-certificates.crt >> "$d" # generated by update-ca-certificates, owned by no package
  LC_ALL=C sort -u "$d" | while IFS= read -r p; do # files dpkg path-excluded are listed but absent
    [[ -e $src/$p || -L $src/$p ]] && printf '%s\n' "$p"
  done > "$d.present"
  tar -C "$src" --no-recursion -T "$d.present" -cf - | tar -C "$stage" -xpf -
  for p in bin sbin lib lib64; do
    mkdir -p "$stage/usr/$p"
    ln -sfn "usr/$p" "$stage/$p"
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$stage/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$stage/etc/group"
  mkdir -p "$stage/home/nonroot" "$stage/root"
  chmod 1777 "$stage/tmp"
  chown 65532:65532 "$stage/home/nonroot"
  [[ ! -e $stage/var/lib/dpkg/status ]] || die "distroless: var/lib/dpkg/status must not exist"
  tar -C "$stage" --sort=name --numeric-owner --mtime=@0 -cf "$WORK/distroless.tar" .
  umoci new --image "$OCI:distroless"
  umoci raw add-layer --image "$OCI:distroless" --history.created_by \
    "distroless-style: ${DISTROLESS_PKGS[*]} from $SUITE, status.d" "$WORK/distroless.tar"
  umoci config --image "$OCI:distroless" --no-history --os linux --architecture amd64 \
    --config.env "$PATH_ENV" --config.user 65532:65532 --config.workingdir /home/nonroot \
    --config.label org.opencontainers.image.title=distroless
  saferm "$stage" "$WORK/distroless.tar" "$d" "$d.present"
}

build_base_jq_and_distroless() {
  local b=$WORK/bundle-base-jq
  umoci unpack --image "$OCI:base" "$b" > /dev/null
  timed distroless build_distroless "$b/rootfs"
  timed "chroot apt-get (base-jq)" chroot_run "$b/rootfs" '
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends jq > /dev/null
    apt-get purge -y -qq less > /dev/null
    rm /etc/issue.net
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/apt \
      /var/log/dpkg.log /var/log/alternatives.log'
  umoci repack --image "$OCI:base-jq" --history.created_by 'apt-get install jq; apt-get purge less; rm /etc/issue.net' "$b"
  umoci config --image "$OCI:base-jq" --no-history --config.label org.opencontainers.image.title=base-jq
  saferm "$b"
}

# base-zstd: base-jq with zstd layers. skopeo writes into a fresh layout (in the main layout it would
# reuse the gzip blobs that are already there), then blobs and the index entry are merged in.
build_base_zstd() {
  local z=$WORK/zstd-layout d f
  sk copy -q --dest-compress-format zstd --dest-compress "oci:$OCI:base-jq" "oci:$z:base-zstd"
  d=$(jq -r '.manifests[0].digest' "$z/index.json")
  for f in "$z"/blobs/sha256/*; do
    [[ -e $OCI/blobs/sha256/${f##*/} ]] || cp "$f" "$OCI/blobs/sha256/"
  done
  jq -e '[.layers[].mediaType] | length == 2 and all(. == "application/vnd.oci.image.layer.v1.tar+zstd")' \
    "$(blob "$d")" > /dev/null || die "base-zstd: layers are not zstd: $(jq -c '[.layers[].mediaType]' "$(blob "$d")")"
  add_index_entry base-zstd "$(jq -c '.manifests[0] | del(.annotations)' "$z/index.json")"
  saferm "$z"
}

add_index_entry() { # add_index_entry TAG DESCRIPTOR_JSON
  jq --arg t "$1" --argjson desc "$2" \
    '.manifests |= (map(select(.annotations["org.opencontainers.image.ref.name"] != $t))
       + [$desc + {annotations: {"org.opencontainers.image.ref.name": $t}}])' \
    "$OCI/index.json" > "$WORK/index.json"
  mv "$WORK/index.json" "$OCI/index.json"
}

build_arm64() {
  zstd -dcq "$1" > "$WORK/rootfs-arm64.tar"
  umoci new --image "$OCI:base-arm64"
  umoci raw add-layer --image "$OCI:base-arm64" --history.created_by \
    "mmdebstrap --mode=chrootless --variant=essential --arch=arm64 --include=$ARM64_PKGS $SUITE" "$WORK/rootfs-arm64.tar"
  umoci config --image "$OCI:base-arm64" --no-history --os linux --architecture arm64 \
    --config.env "$PATH_ENV" --config.cmd /bin/bash --config.label org.opencontainers.image.title=base-arm64
  rm -f "$WORK/rootfs-arm64.tar"
}

build_multi() { # OCI image index written by hand
  local d1 d2 idx="$WORK/multi-index.json" dg
  d1=$(manifest_of base)
  d2=$(manifest_of base-arm64)
  jq -cn --arg mt "$OCI_MANIFEST" --arg it "$OCI_INDEX" \
    --arg d1 "$d1" --argjson s1 "$(stat -c %s "$(blob "$d1")")" \
    --arg d2 "$d2" --argjson s2 "$(stat -c %s "$(blob "$d2")")" \
    '{schemaVersion: 2, mediaType: $it,
      manifests: [{mediaType: $mt, digest: $d1, size: $s1, platform: {architecture: "amd64", os: "linux"}},
                  {mediaType: $mt, digest: $d2, size: $s2, platform: {architecture: "arm64", os: "linux"}}],
      annotations: {"org.opencontainers.image.title": "multi"}}' > "$idx"
  dg=sha256:$(sha256sum "$idx" | cut -d' ' -f1)
  cp "$idx" "$(blob "$dg")"
  add_index_entry multi "$(jq -cn --arg it "$OCI_INDEX" --arg d "$dg" --argjson s "$(stat -c %s "$idx")" \
    '{mediaType: $it, digest: $d, size: $s}')"
}

# ---------- application images ----------
apt_layer() { # apt_layer ROOTFS PKG... : apt-get install in the chroot, leaving no apt lists or logs behind
  local r=$1
  shift
  chroot_run "$r" "
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $* > /dev/null
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/apt \
      /var/log/dpkg.log /var/log/alternatives.log"
}

# npm on the host without user configuration (~/.npmrc may say e.g. omit-lockfile-registry-resolved),
# without npm_config_* inherited from an `npm test`, and with a private cache; the rest of the
# environment stays (proxies, NODE_EXTRA_CA_CERTS)
host_npm() {
  local home=$WORK/npm-home v unset=()
  mkdir -p "$home"
  while IFS= read -r v; do unset+=(-u "$v"); done < <(compgen -e | grep -i '^npm_config_' || true)
  env "${unset[@]}" HOME="$home" NPM_CONFIG_USERCONFIG=/dev/null NPM_CONFIG_CACHE="$home/cache" \
    NPM_CONFIG_UPDATE_NOTIFIER=false npm "$@"
}

cache_put() { # cache_put TMPDIR DIR: publish a finished cache directory (another build may have won)
  mv -T "$1" "$2" 2> /dev/null || saferm "$1"
}

# The node app: package.json + `npm install` on the host, cached in ROOTFS_CACHE (keyed by the
# dependencies) together with the ground truth `npm ls --all --json` taken right after the install.
# Echoes the cache directory: app/ (the /app tree), npm-ls.json, versions.txt.
node_app() {
  local key dir tmp
  mkdir -p "$ROOTFS_CACHE"
  key=$(printf '%s\n' "${NODE_APP_DEPS[@]}" "$NODE_APP_PACKAGE_JSON" | sha12)
  dir=$ROOTFS_CACHE/nodeapp-$key
  if [[ ! -f $dir/npm-ls.json ]]; then
    command -v npm > /dev/null || die "node-app: npm is needed once to fill $dir (apt-get install npm)"
    tmp=$ROOTFS_CACHE/.nodeapp-$key.$$
    saferm "$tmp"
    mkdir -p "$tmp/app"
    printf '%s\n' "$NODE_APP_PACKAGE_JSON" > "$tmp/app/package.json"
    log "npm install ${NODE_APP_DEPS[*]} (log: $WORK/npm-install.log)"
    if ! (cd "$tmp/app" && host_npm install --no-audit --no-fund "${NODE_APP_DEPS[@]}") > "$WORK/npm-install.log" 2>&1; then
      tail -n 30 "$WORK/npm-install.log" >&2
      saferm "$tmp"
      die "node-app: npm install failed"
    fi
    (cd "$tmp/app" && host_npm ls --all --json) > "$tmp/npm-ls.json" || die "node-app: npm ls reports problems"
    printf 'node\t%s\nnpm\t%s\n' "$(node --version)" "$(host_npm --version)" > "$tmp/versions.txt"
    cache_put "$tmp" "$dir"
  fi
  jq -e '.lockfileVersion == 3' "$dir/app/package-lock.json" > /dev/null || die "node-app: package-lock.json is not lockfileVersion 3"
  echo "$dir"
}

build_node_app() {
  local b=$WORK/bundle-node-app app
  app=$(node_app)
  log "node-app: $(tr '\n' ' ' < "$app/versions.txt")"
  umoci unpack --image "$OCI:base" "$b" > /dev/null
  timed "chroot apt-get (node-app)" apt_layer "$b/rootfs" "${NODE_DEBS[@]}"
  umoci repack --refresh-bundle --image "$OCI:node-app" --history.created_by "apt-get install ${NODE_DEBS[*]}" "$b"
  mkdir -p "$b/rootfs/app"
  cp -a "$app/app/." "$b/rootfs/app/"
  umoci repack --image "$OCI:node-app" --history.created_by "COPY app/ /app/ (npm install ${NODE_APP_DEPS[*]})" "$b"
  umoci config --image "$OCI:node-app" --no-history --config.workingdir /app --config.env NODE_ENV=production \
    --config.cmd node --config.label org.opencontainers.image.title=node-app
  cp "$app/npm-ls.json" "$TRUTH/node-app.npm.json"
  saferm "$b"
}

# shellcheck disable=SC2016 # python, run in the chroot
PY_TRUTH='import glob, importlib.metadata as m
for d in ["/usr/lib/python3/dist-packages"] + sorted(glob.glob("/opt/venv/lib/python3*/site-packages")):
    for dist in m.distributions(path=[d]):
        print(dist.metadata["Name"], dist.version, d, sep="\t")
'
build_python_app() {
  local b=$WORK/bundle-python-app
  umoci unpack --image "$OCI:base" "$b" > /dev/null
  timed "chroot apt-get (python-app)" apt_layer "$b/rootfs" "${PY_DEBS[@]}"
  umoci repack --refresh-bundle --image "$OCI:python-app" --history.created_by "apt-get install ${PY_DEBS[*]}" "$b"
  timed "chroot venv (python-app)" chroot_run "$b/rootfs" '
    python3 -m venv --system-site-packages /opt/venv
    /opt/venv/bin/pip install -q --disable-pip-version-check --no-index --find-links /usr/share/python-wheels wheel
    rm -rf /root/.cache'
  # the truth, before repack; -B: no __pycache__ written into the layer
  chroot_run "$b/rootfs" 'exec python3 -B -' <<< "$PY_TRUTH" | LC_ALL=C sort -t $'\t' -k3,3 -k1,1 > "$TRUTH/python-app.pypi.tsv"
  [[ -s $TRUTH/python-app.pypi.tsv ]] || die "python-app: empty pypi truth"
  umoci repack --image "$OCI:python-app" --history.created_by \
    'python3 -m venv --system-site-packages /opt/venv; pip install --no-index --find-links /usr/share/python-wheels wheel' "$b"
  umoci config --image "$OCI:python-app" --no-history --config.env VIRTUAL_ENV=/opt/venv \
    --config.env PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.cmd python3 --config.label org.opencontainers.image.title=python-app
  saferm "$b"
}

asset() { # asset NAME -> path of a committed asset, after checking its pinned sha256
  local f=$ASSETS/$1
  [[ -f $f ]] || die "missing asset $f"
  [[ $(sha256sum "$f" | cut -d' ' -f1) == "${ASSET_SHA256[$1]}" ]] || die "asset $f does not match its sha256 in $0"
  echo "$f"
}

esbuild_binary() { # -> path of the esbuild binary from npm (cached in ROOTFS_CACHE)
  local ver=${ESBUILD_PKG##*@} dir tmp tgz
  mkdir -p "$ROOTFS_CACHE"
  dir=$ROOTFS_CACHE/esbuild-linux-x64-$ver
  if [[ ! -f $dir/esbuild ]]; then
    command -v npm > /dev/null || die "go-java-app: npm is needed once to fetch $ESBUILD_PKG (apt-get install npm)"
    tmp=$ROOTFS_CACHE/.esbuild-$ver.$$
    saferm "$tmp"
    mkdir -p "$tmp"
    tgz=$(cd "$tmp" && host_npm pack --silent "$ESBUILD_PKG" 2> "$WORK/npm-pack.log") || {
      cat "$WORK/npm-pack.log" >&2
      die "npm pack $ESBUILD_PKG failed"
    }
    tar -xzf "$tmp/$tgz" -C "$tmp" --strip-components=2 package/bin/esbuild
    rm -f "$tmp/$tgz"
    [[ $(sha256sum "$tmp/esbuild" | cut -d' ' -f1) == "${GO_BINARY_SHA256[esbuild]}" ]] ||
      die "$ESBUILD_PKG: bin/esbuild does not match its sha256 in $0"
    cache_put "$tmp" "$dir"
  fi
  echo "$dir/esbuild"
}

# go_truth DIR REL: `go version -m REL` in DIR; without a Go toolchain the committed assets/<name>.go-version-m.txt,
# if REL is byte-identical to the binary that file was made from
go_truth() {
  local d=$1 rel=$2 name=${2##*/} out sum
  sum=$(sha256sum "$d/$rel" | cut -d' ' -f1)
  if command -v go > /dev/null; then
    out=$(cd "$d" && go version -m "$rel") || die "go version -m $rel failed"
    if [[ $sum == "${GO_BINARY_SHA256[$name]}" ]] && ! cmp -s <(printf '%s\n' "$out") "$(asset "$name.go-version-m.txt")"; then
      log "WARNING: go version -m $rel differs from assets/$name.go-version-m.txt (other Go version?); using go's"
    fi
    printf '%s\n' "$out"
  elif [[ $sum == "${GO_BINARY_SHA256[$name]}" ]]; then
    cat "$(asset "$name.go-version-m.txt")"
  else
    die "$rel (sha256 $sum) is not the binary assets/$name.go-version-m.txt describes, and there is no go to read it (apt-get install golang-go)"
  fi
}

build_go_java_app() {
  local stage=$WORK/go-java-app j e
  mkdir -p "$stage/usr/local/bin" "$stage/opt/app/lib"
  cp /usr/bin/umoci "$stage/usr/local/bin/umoci" # the host's: a real Go program (build.sh needs umoci anyway)
  cp "$(esbuild_binary)" "$stage/usr/local/bin/esbuild"
  chmod 0755 "$stage/usr/local/bin/umoci" "$stage/usr/local/bin/esbuild"
  for j in "${JARS[@]}"; do
    cp "$(asset "$j")" "$stage/opt/app/lib/$j"
    chmod 0644 "$stage/opt/app/lib/$j"
  done
  # truth: Go build info and the jars' pom.properties
  {
    go_truth "$stage" usr/local/bin/umoci
    go_truth "$stage" usr/local/bin/esbuild
  } > "$TRUTH/go-java-app.gomod.txt"
  for j in "$stage"/opt/app/lib/*.jar; do
    unzip -Z1 "$j" | { grep -E '^META-INF/maven/.+/pom\.properties$' || true; } | while IFS= read -r e; do
      unzip -p "$j" "$e" | tr -d '\r' | awk -F= -v jar="${j#"$stage"}" '
        $1 == "groupId" { g = $2 } $1 == "artifactId" { a = $2 } $1 == "version" { v = $2 }
        END { if (g == "" || a == "" || v == "") exit 1; printf "%s\t%s\t%s\t%s\n", g, a, v, jar }' ||
        die "go-java-app: $j!$e lacks groupId/artifactId/version"
    done
  done | LC_ALL=C sort > "$TRUTH/go-java-app.maven.tsv"
  [[ -s $TRUTH/go-java-app.maven.tsv ]] || die "go-java-app: no pom.properties in the jars"
  find "$stage" -type d -exec chmod 0755 {} +
  tar -C "$stage" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$WORK/go-java-app.tar" usr opt
  umoci raw add-layer --image "$OCI:base" --tag go-java-app --history.created_by \
    'COPY umoci esbuild /usr/local/bin/; COPY lib/*.jar /opt/app/lib/' "$WORK/go-java-app.tar"
  umoci config --image "$OCI:go-java-app" --no-history --config.workingdir /opt/app \
    --config.cmd /usr/local/bin/umoci --config.label org.opencontainers.image.title=go-java-app
  saferm "$stage" "$WORK/go-java-app.tar"
}

build_archives() {
  mkdir -p "$ARCHIVES"
  sk copy -q "oci:$OCI:base-jq" "oci-archive:$ARCHIVES/base-jq.oci.tar:base-jq"
  sk copy -q "oci:$OCI:base-jq" "docker-archive:$ARCHIVES/base-jq.docker.tar:regscan-test/base-jq:latest"
  sk copy -q --all "oci:$OCI:multi" "oci-archive:$ARCHIVES/multi.oci.tar:multi"
}

# ---------- ground truth: the real dpkg-query on the unpacked image ----------
# shellcheck disable=SC2016 # dpkg-query fields, not shell variables
DPKG_FORMAT='${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n'
truth_of() { # truth_of TAG
  local t=$1 b=$WORK/unpack-$1 r admin rel f layout=$OCI
  if jq -e '.layers | any(.mediaType | endswith("+zstd"))' "$(blob "$(manifest_of "$t")")" > /dev/null; then
    # umoci 0.4.7 cannot unpack zstd layers: let skopeo decompress them into a gzip copy first
    layout=$WORK/gzip-$t
    sk copy -q --dest-compress-format gzip "oci:$OCI:$t" "oci:$layout:$t"
  fi
  umoci unpack --image "$layout:$t" "$b" > /dev/null
  r=$b/rootfs
  admin=$r/var/lib/dpkg
  if [[ ! -f $admin/status ]]; then # distroless: build a dpkg database from status.d
    [[ -d $admin/status.d ]] || die "$t: no dpkg database"
    admin=$WORK/admin-$t
    mkdir -p "$admin/info" "$admin/updates"
    for f in "$r"/var/lib/dpkg/status.d/*; do
      [[ $f == *.md5sums ]] && continue
      {
        printf 'Status: install ok installed\n'
        cat "$f"
        printf '\n'
      } >> "$admin/status"
    done
  fi
  # every recorded package must be fully installed, else the truth would be ambiguous
  if dpkg-query --admindir="$admin" -W -f='${db:Status-Abbrev} ${Package}\n' | grep -v '^ii '; then
    die "$t: packages not in state ii (above)"
  fi
  dpkg-query --admindir="$admin" -W -f="$DPKG_FORMAT" | LC_ALL=C sort > "$TRUTH/$t.dpkg.tsv"
  [[ -s $TRUTH/$t.dpkg.tsv ]] || die "$t: empty truth"
  f=$r/etc/os-release
  if [[ -L $f ]]; then
    rel=$(readlink "$f")
    if [[ $rel == /* ]]; then f=$r$rel; else f=$r/etc/$rel; fi
  fi
  [[ -f $f ]] || f=$r/usr/lib/os-release
  cp "$f" "$TRUTH/$t.os-release"
  saferm "$b" "$WORK/admin-$t" "$WORK/gzip-$t"
}

# ---------- images.json ----------
whiteouts_of() { # whiteouts_of LAYER_DIGEST MEDIA_TYPE DIFF_ID -> JSON array of whiteout paths in that layer
  local dec=(gzip -dc) sum
  [[ $2 == *zstd ]] && dec=(zstd -dcq)
  sum=sha256:$("${dec[@]}" "$(blob "$1")" | sha256sum | cut -d' ' -f1)
  [[ $sum == "$3" ]] || die "layer $1 decompresses to $sum, but its diff id is $3"
  "${dec[@]}" "$(blob "$1")" | tar -t | { grep -E '(^|/)\.wh\.' || true; } | LC_ALL=C sort | jq -R . | jq -cs .
}
extra_truth() { # extra_truth TAG -> JSON object: ecosystem -> truth file, for the ones the image has
  local t=$1 k f obj='{}'
  for k in npm:npm.json pypi:pypi.tsv gomod:gomod.txt maven:maven.tsv; do
    f=$t.${k#*:}
    [[ -f $TRUTH/$f ]] && obj=$(jq -c --arg k "${k%%:*}" --arg f "truth/$f" '. + {($k): $f}' <<< "$obj")
  done
  echo "$obj"
}
declare -A WHITEOUTS=() # layer digest -> JSON array of its whiteouts (layers are shared between tags)
describe_image() { # describe_image TAG -> JSON
  local t=$1 m mj cfg i n layers='[]' l mt diff
  m=$(manifest_of "$t")
  mj=$(blob "$m")
  cfg=$(jq -r .config.digest "$mj")
  n=$(jq '.layers | length' "$mj")
  for ((i = 0; i < n; i++)); do
    l=$(jq -r ".layers[$i].digest" "$mj")
    mt=$(jq -r ".layers[$i].mediaType" "$mj")
    diff=$(jq -r ".rootfs.diff_ids[$i]" "$(blob "$cfg")")
    [[ -n ${WHITEOUTS[$l]:-} ]] || WHITEOUTS[$l]=$(whiteouts_of "$l" "$mt" "$diff")
    layers=$(jq -c --argjson l "$(jq -c ".layers[$i]" "$mj")" --arg diff "$diff" --argjson wh "${WHITEOUTS[$l]}" \
      '. + [{digest: $l.digest, diffId: $diff, size: $l.size, mediaType: $l.mediaType, whiteouts: $wh}]' <<< "$layers")
  done
  # umoci writes manifests without a mediaType field (allowed by the OCI spec): take it from index.json
  jq -cn --arg t "$t" --arg m "$m" --argjson msize "$(stat -c %s "$mj")" \
    --arg mt "$(jq -r --arg m "$m" '.manifests[] | select(.digest == $m) | .mediaType' "$OCI/index.json" | head -n1)" \
    --arg cfg "$cfg" --argjson c "$(cat "$(blob "$cfg")")" --argjson layers "$layers" \
    --argjson packages "$(wc -l < "$TRUTH/$t.dpkg.tsv")" --argjson extra "$(extra_truth "$t")" \
    '{tag: $t, mediaType: $mt, manifest: $m, manifestSize: $msize, config: $cfg,
      platform: {os: $c.os, architecture: $c.architecture},
      layers: $layers, packages: $packages,
      truth: ({dpkg: "truth/\($t).dpkg.tsv", osRelease: "truth/\($t).os-release"} + $extra)}'
}
describe_index() { # describe_index TAG -> JSON
  local t=$1 m
  m=$(manifest_of "$t")
  jq -c --arg t "$t" --arg m "$m" --argjson msize "$(stat -c %s "$(blob "$m")")" --slurpfile idx "$OCI/index.json" '
    ($idx[0].manifests | map({key: .digest, value: .annotations["org.opencontainers.image.ref.name"]}) | from_entries) as $tags
    | {tag: $t, mediaType: .mediaType, manifest: $m, manifestSize: $msize,
       manifests: [.manifests[] | {digest, size, mediaType, platform, tag: $tags[.digest]}]}' "$(blob "$m")"
}
write_images_json() {
  local t list=$WORK/images.ndjson
  for t in "${SINGLE_TAGS[@]}"; do describe_image "$t" >> "$list"; done
  describe_index multi >> "$list"
  jq -s --arg suite "$SUITE" --arg debian "$(cat "$WORK/debian_version")" \
    --argjson repoTags "$(tar -xOf "$ARCHIVES/base-jq.docker.tar" manifest.json | jq -c '.[0].RepoTags')" '{
    schemaVersion: 1, suite: $suite, debianVersion: $debian,
    images: (map({key: .tag, value: .}) | from_entries),
    archives: {
      "base-jq.oci.tar": {path: "archives/base-jq.oci.tar", transport: "oci-archive", tag: "base-jq", source: "base-jq"},
      "base-jq.docker.tar": {path: "archives/base-jq.docker.tar", transport: "docker-archive",
                             reference: "regscan-test/base-jq:latest", repoTags: $repoTags, source: "base-jq"},
      "multi.oci.tar": {path: "archives/multi.oci.tar", transport: "oci-archive", tag: "multi", source: "multi"}
    }}' "$list" > "$OUT/images.json"
}

main() {
  local start=$EPOCHREALTIME amd64 arm64 t
  mkdir -p "$OUT"
  rm -f "$OUT/.complete"
  saferm "$OCI" "$ARCHIVES" "$TRUTH" "$OUT/images.json" "$OUT"/.work.*
  WORK=$(mktemp -d "$OUT/.work.XXXXXX")
  mkdir -p "$TRUTH"

  amd64=$(timed "rootfs amd64" rootfs amd64 --variant=minbase --include="$BASE_PKGS" "${MMDEB_OPTS[@]}")
  arm64=$(timed "rootfs arm64" rootfs arm64 --mode=chrootless --variant=essential --arch=arm64 \
    --include="$ARM64_PKGS" "${MMDEB_OPTS[@]}")
  tar -xOf <(zstd -dcq "$amd64") ./etc/debian_version > "$WORK/debian_version"

  umoci init --layout "$OCI"
  timed base build_base "$amd64"
  timed "base-jq + distroless" build_base_jq_and_distroless
  timed base-zstd build_base_zstd
  timed base-arm64 build_arm64 "$arm64"
  build_multi
  timed node-app build_node_app
  timed python-app build_python_app
  timed go-java-app build_go_java_app
  umoci gc --layout "$OCI"
  timed archives build_archives
  for t in "${SINGLE_TAGS[@]}"; do timed "truth $t" truth_of "$t"; done
  timed images.json write_images_json
  saferm "$WORK"
  WORK=
  date -u +%Y-%m-%dT%H:%M:%SZ > "$OUT/.complete"
  log "done in $(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')s: $OUT"
  jq -r '.images[] | "  \(.tag)\t\(.platform.architecture // "index")\tlayers=\(.layers // [] | length)\tpackages=\(.packages // "-")"' \
    "$OUT/images.json" >&2
}

main
