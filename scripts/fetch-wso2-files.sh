#!/usr/bin/env bash
# Fetches the real WSO2 EI 6.x files the tests read (listed in scripts/wso2-files.txt) from their public
# GitHub repositories, each at its pinned commit, and keeps one only when its SHA-256 is the pinned one.
# Nothing of WSO2's is committed to this repository; the files go to a cache folder outside it.
#
#   scripts/fetch-wso2-files.sh            fetch into the cache (files already there and intact are kept)
#   scripts/fetch-wso2-files.sh --needed   fetch nothing when the tests already find an intact set
#                                          ($EIDB_WSO2_FILES, else ../shared/wso2-ei, else the cache)
#   --from DIR    copy from DIR (laid out like the set: DIR/ei-6.x/conf/...) instead of downloading;
#                 the same checks apply (a mirror, an air-gapped machine, the tests of this script)
#   --dest DIR    the folder to fill instead of the cache
#   --verify DIR  only check that DIR holds the intact set; exit 1 otherwise
#
# The cache is ${EIDB_WSO2_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eidb/wso2-ei}, where the tests look
# last (tests/it/common/wso2_files.rs). Downloading needs curl or wget; checking needs sha256sum.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly MANIFEST=$repo_root/scripts/wso2-files.txt
readonly BASE_URL=https://github.com
readonly DEFAULT_DEST=${EIDB_WSO2_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eidb/wso2-ei}

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    echo "fetch-wso2-files: error: $*" >&2
    exit 1
}

# The manifest's entries: "sha256 file repository commit path" per line, comments and blanks skipped.
entries() {
    grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$MANIFEST"
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# Whether DIR holds every file of the set with its pinned SHA-256; names each problem on stderr
# unless "quiet" is passed.
verify_set() {
    local dir=$1 quiet=${2:-} sha file repo commit path ok=0 actual
    while read -r sha file repo commit path; do
        if [[ ! -f $dir/$file ]]; then
            [[ -n $quiet ]] || echo "  missing: $dir/$file" >&2
            ok=1
            continue
        fi
        actual=$(sha256_of "$dir/$file")
        if [[ $actual != "$sha" ]]; then
            [[ -n $quiet ]] || echo "  differs: $dir/$file (SHA-256 $actual, pinned $sha)" >&2
            ok=1
        fi
    done < <(entries)
    return $ok
}

download() {
    local url=$1 to=$2
    if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --retry 3 --output "$to" "$url"
    elif command -v wget >/dev/null 2>&1; then
        wget --quiet --tries=3 --output-document="$to" "$url"
    else
        die "downloading needs curl or wget (apt-get install curl), or use --from DIR"
    fi
}

# Fills DEST from SOURCE (a folder, or empty for GitHub). Every file is checked before it is put in
# place (a temporary file in DEST, renamed); a file that fails the check is refused and never kept.
fetch_set() {
    local dest=$1 source=$2 sha file repo commit path target tmp actual failed=0
    while read -r sha file repo commit path; do
        target=$dest/$file
        if [[ -f $target && $(sha256_of "$target") == "$sha" ]]; then
            echo "  in place: $file"
            continue
        fi
        mkdir -p "$(dirname "$target")"
        tmp=$(mktemp "$target.XXXXXX.part")
        if [[ -n $source ]]; then
            if ! cp "$source/$file" "$tmp" 2>/dev/null; then
                rm -f "$tmp"
                echo "  missing: $source/$file" >&2
                failed=1
                continue
            fi
        elif ! download "$BASE_URL/$repo/raw/$commit/$path" "$tmp"; then
            rm -f "$tmp"
            echo "  could not download $repo@$commit:$path" >&2
            failed=1
            continue
        fi
        actual=$(sha256_of "$tmp")
        if [[ $actual != "$sha" ]]; then
            rm -f "$tmp"
            echo "  refused: $file from ${source:-$repo@$commit:$path}: SHA-256 $actual, pinned $sha" >&2
            failed=1
            continue
        fi
        chmod 644 "$tmp"
        mv -f "$tmp" "$target"
        echo "  fetched: $file"
    done < <(entries)
    return $failed
}

main() {
    local dest=$DEFAULT_DEST source='' needed='' verify=''
    while (($#)); do
        case $1 in
        --from) source=${2:?--from needs a folder}; shift 2 ;;
        --dest) dest=${2:?--dest needs a folder}; shift 2 ;;
        --verify) verify=${2:?--verify needs a folder}; shift 2 ;;
        --needed) needed=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    command -v sha256sum >/dev/null 2>&1 || die "checking the files needs sha256sum (coreutils)"

    if [[ -n $verify ]]; then
        verify_set "$verify" || die "$verify does not hold the pinned WSO2 files (scripts/wso2-files.txt)"
        echo "$verify holds the pinned WSO2 files"
        return 0
    fi
    if [[ -n $needed ]]; then
        # Where the tests look, in their order (tests/it/common/wso2_files.rs). A folder named in
        # EIDB_WSO2_FILES is the only place the tests look, so it has to be right.
        if [[ -n ${EIDB_WSO2_FILES:-} ]]; then
            verify_set "$EIDB_WSO2_FILES" ||
                die "EIDB_WSO2_FILES=$EIDB_WSO2_FILES does not hold the pinned WSO2 files; unset it to use the cache"
            echo "the pinned WSO2 files are in $EIDB_WSO2_FILES (EIDB_WSO2_FILES): nothing to fetch"
            return 0
        fi
        local place
        for place in "$repo_root/../shared/wso2-ei" "$dest"; do
            if verify_set "$place" quiet; then
                echo "the pinned WSO2 files are in $place: nothing to fetch"
                return 0
            fi
        done
    fi
    if [[ -n $source && ! -d $source ]]; then
        die "--from $source: no such folder"
    fi

    echo "fetching the WSO2 files into $dest${source:+ from $source}"
    mkdir -p "$dest"
    fetch_set "$dest" "$source" || die "some files were not fetched (above); nothing unchecked was kept in $dest"
    echo "done: the tests find them in $dest"
}

main "$@"
