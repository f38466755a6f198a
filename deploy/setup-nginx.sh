#!/usr/bin/env bash
# nginx in front of the kiosk on a Raspberry Pi: TLS for the office LAN with a local CA the
# installer makes, the site from deploy/nginx/kiosk.conf, `nginx -t`, reload.
# Idempotent: the CA is made once (officers' phones trust it once); the server certificate is
# made again only when the host name or addresses change or it nears its end.
# Called by deploy/install-pi.sh (as root). Also:
#   setup-nginx.sh cert          make/refresh the certificates in $TLS_DIR only
#   setup-nginx.sh render FILE   write the filled-in site to FILE only (used by the tests)
# Settings (environment): TLS_DIR, SITE_NAME, UPSTREAM, HTTP_PORT, HTTPS_PORT (a port or
# ADDRESS:PORT), SERVER_NAMES
# (default: host name, host name.local, every address of the host, localhost, 127.0.0.1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE="$HERE/nginx/kiosk.conf"
TLS_DIR=${TLS_DIR:-/etc/kiosk/tls}
SITE_NAME=${SITE_NAME:-kiosk}
UPSTREAM=${UPSTREAM:-127.0.0.1:8080}
HTTP_PORT=${HTTP_PORT:-80}
HTTPS_PORT=${HTTPS_PORT:-443}
ENROLL_MAX=${ENROLL_MAX:-130m}
CERT_DAYS=${CERT_DAYS:-825}
CA_DAYS=${CA_DAYS:-3650}

log() { printf '==> %s\n' "$*"; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

host_addresses() {
    hostname -I 2>/dev/null | tr ' ' '\n' | grep -v '^$' || true
}

server_names() {
    if [[ -n ${SERVER_NAMES:-} ]]; then
        printf '%s\n' "$SERVER_NAMES"
        return
    fi
    local host
    host=$(hostname -s 2>/dev/null || hostname)
    { printf '%s\n%s.local\nlocalhost\n127.0.0.1\n' "$host" "$host"; host_addresses; } |
        sort -u | tr '\n' ' ' | sed 's/ $//'
}

# subjectAltName for the certificate: DNS: for names, IP: for addresses.
san_list() {
    local name parts=()
    for name in $(server_names); do
        if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
            parts+=("IP:$name")
        else
            parts+=("DNS:$name")
        fi
    done
    local IFS=,
    printf "%s\n" "${parts[*]}"
}

make_ca() {
    [[ -s $TLS_DIR/kiosk-ca.crt && -s $TLS_DIR/kiosk-ca.key ]] && return 0
    log "making the kiosk's own certificate authority in $TLS_DIR"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$TLS_DIR/kiosk-ca.key")
    openssl req -x509 -new -key "$TLS_DIR/kiosk-ca.key" -sha256 -days "$CA_DAYS" \
        -subj "/CN=Gate kiosk local CA $(hostname -s 2>/dev/null || echo kiosk)" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$TLS_DIR/kiosk-ca.crt"
    chmod 0644 "$TLS_DIR/kiosk-ca.crt"
}

cert_is_current() {
    local san=$1
    [[ -s $TLS_DIR/kiosk.crt && -s $TLS_DIR/kiosk.key && -f $TLS_DIR/kiosk.san ]] || return 1
    [[ $(cat "$TLS_DIR/kiosk.san") == "$san" ]] || return 1
    openssl x509 -in "$TLS_DIR/kiosk.crt" -noout -checkend $((30 * 86400)) >/dev/null
}

make_cert() {
    install -d -m 0755 "$TLS_DIR"
    make_ca
    local san
    san=$(san_list)
    if cert_is_current "$san"; then
        log "server certificate is current ($san)"
        return 0
    fi
    log "making the server certificate for $san"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$TLS_DIR/kiosk.key")
    local first
    first=$(server_names | cut -d' ' -f1)
    openssl req -new -key "$TLS_DIR/kiosk.key" -subj "/CN=$first" -out "$TLS_DIR/kiosk.csr"
    local ext="$TLS_DIR/kiosk.ext"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
        "$san" >"$ext"
    openssl x509 -req -in "$TLS_DIR/kiosk.csr" -CA "$TLS_DIR/kiosk-ca.crt" \
        -CAkey "$TLS_DIR/kiosk-ca.key" -CAcreateserial -sha256 -days "$CERT_DAYS" \
        -extfile "$ext" -out "$TLS_DIR/kiosk.crt" 2>/dev/null
    rm -f "$TLS_DIR/kiosk.csr" "$ext"
    printf '%s\n' "$san" >"$TLS_DIR/kiosk.san"
    chmod 0644 "$TLS_DIR/kiosk.crt"
    chmod 0600 "$TLS_DIR/kiosk.key" "$TLS_DIR/kiosk-ca.key"
}

render() {
    local out=$1 suffix=""
    [[ ${HTTPS_PORT##*:} == 443 ]] || suffix=":${HTTPS_PORT##*:}"
    [[ -f $TEMPLATE ]] || die "template $TEMPLATE not found"
    sed -e "s|@UPSTREAM@|$UPSTREAM|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" \
        -e "s|@HTTPS_SUFFIX@|$suffix|g" \
        -e "s|@SERVER_NAMES@|$(server_names)|g" \
        -e "s|@CERT@|$TLS_DIR/kiosk.crt|g" \
        -e "s|@KEY@|$TLS_DIR/kiosk.key|g" \
        -e "s|@CA_CERT@|$TLS_DIR/kiosk-ca.crt|g" \
        -e "s|@ENROLL_MAX@|$ENROLL_MAX|g" \
        "$TEMPLATE" >"$out.new"
    if grep -q '@[A-Z_]*@' "$out.new"; then
        rm -f "$out.new"
        die "unfilled placeholder in $TEMPLATE"
    fi
    mv "$out.new" "$out"
}

install_site() {
    command -v nginx >/dev/null || die "nginx is not installed (apt-get install nginx)"
    make_cert
    local site="/etc/nginx/sites-available/$SITE_NAME"
    render "$site"
    chmod 0644 "$site"
    ln -sfn "$site" "/etc/nginx/sites-enabled/$SITE_NAME"
    # Debian's example site is a default_server too: two cannot share a port.
    rm -f /etc/nginx/sites-enabled/default
    nginx -t
    systemctl enable nginx.service >/dev/null 2>&1 || true
    if systemctl is-active --quiet nginx.service; then
        systemctl reload nginx.service
    else
        systemctl start nginx.service
    fi
    log "nginx serves https://$(server_names | cut -d' ' -f1)/ (CA for phones: http://<address>/kiosk-ca.crt)"
}

main() {
    case ${1:-install} in
    cert) make_cert ;;
    render)
        [[ -n ${2:-} ]] || die "usage: $0 render FILE"
        render "$2"
        ;;
    install)
        [[ $EUID -eq 0 ]] || die "run as root: sudo $0"
        install_site
        ;;
    *) die "usage: $0 [install|cert|render FILE]" ;;
    esac
}

main "$@"
