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
#   archives/            base-jq.oci.tar (oci-archive), base-jq.docker.tar (docker-archive,
#                        regscan-test/base-jq:latest), multi.oci.tar (oci-archive, both platforms)
#   truth/<tag>.dpkg.tsv     ground truth from the real dpkg-query on the unpacked image, sorted:
#                            Package Version Architecture source:Package source:Version (tab separated)
#   truth/<tag>.os-release   the image's os-release
#   images.json          per tag: manifest/config digests, layers (digest, diff id, size, media type,
#                        whiteouts), platform, package count; archives
#   .complete            written last; if present the script exits at once (REGSCAN_IMAGES_FORCE=1 rebuilds)
# Concurrent runs for the same OUT are serialised with flock on OUT.lock.
#
# The expensive part, the mmdebstrap root file systems, is cached as .tar.zst in
# ${REGSCAN_ROOTFS_CACHE:-OUT/rootfs-cache}, keyed by the mmdebstrap arguments, so a rebuild takes
# seconds plus one small apt-get in a chroot. Needs: mmdebstrap umoci skopeo zstd jq (Debian packages).
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
for tool in mmdebstrap umoci skopeo zstd jq dpkg-query tar unshare chroot; do
  command -v "$tool" > /dev/null || die "missing tool: $tool (apt-get install mmdebstrap umoci skopeo zstd jq)"
done

SUITE=bookworm
MIRRORS=("deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://deb.debian.org/debian-security $SUITE-security main")
BASE_PKGS=ca-certificates,curl,openssl,libxml2,less
ARM64_PKGS=ca-certificates,curl,openssl
DISTROLESS_PKGS=(base-files libc6 libssl3 ca-certificates zlib1g)
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
    --argjson packages "$(wc -l < "$TRUTH/$t.dpkg.tsv")" \
    '{tag: $t, mediaType: $mt, manifest: $m, manifestSize: $msize, config: $cfg,
      platform: {os: $c.os, architecture: $c.architecture},
      layers: $layers, packages: $packages,
      truth: {dpkg: "truth/\($t).dpkg.tsv", osRelease: "truth/\($t).os-release"}}'
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
  for t in base base-jq base-zstd distroless base-arm64; do describe_image "$t" >> "$list"; done
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
  umoci gc --layout "$OCI"
  timed archives build_archives
  for t in base base-jq base-zstd distroless base-arm64; do timed "truth $t" truth_of "$t"; done
  timed images.json write_images_json
  saferm "$WORK"
  WORK=
  date -u +%Y-%m-%dT%H:%M:%SZ > "$OUT/.complete"
  log "done in $(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')s: $OUT"
  jq -r '.images[] | "  \(.tag)\t\(.platform.architecture // "index")\tlayers=\(.layers // [] | length)\tpackages=\(.packages // "-")"' \
    "$OUT/images.json" >&2
}

main
