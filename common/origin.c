/*
 * Origins and origin lists. The canonical form follows the WHATWG URL
 * standard's host parser and serialisers for the hosts a key can be sent to:
 * a domain of [a-z0-9.-], an IPv4 address (in any of the forms it reads:
 * "127.1", "0x7f.0.0.1"), or a bracketed IPv6 address, written back as
 * new URL(x).origin writes them, so that the daemon, the client and the
 * router's preload compare the same strings.
 */
#include "origin.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The ASCII letter c in lower case; anything else as it is. */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when the len bytes at s begin, ignoring ASCII case, with the lower-case prefix. */
static bool
has_prefix(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		if (lower(*s) != *prefix)
			return false;
	}
	return true;
}

/* The value of the hex digit c (lower case), or 16 when it is none. */
static unsigned
digit(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return 16;
}

/*
 * One part of a WHATWG IPv4 host: decimal, octal after a leading 0, hex
 * after 0x ("0x" alone is 0). -1 when it is not a number; values past 2^32
 * are clamped there, which every caller refuses.
 */
static int
ipv4_part(const char *s, size_t len, uint64_t *out)
{
	unsigned base = 10, d;
	uint64_t v = 0;

	if (len >= 2 && s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
		len -= 2;
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		s++;
		len--;
	}
	for (; len > 0; s++, len--) {
		d = digit(*s);
		if (d >= base)
			return -1;
		v = v * base + d;
		if (v > UINT32_MAX)
			v = (uint64_t)UINT32_MAX + 1;
	}
	*out = v;
	return 0;
}

/*
 * True when a lower-cased host ends in a number, so that WHATWG reads it as
 * an IPv4 address: its last label (a trailing dot aside) is all digits, or 0x
 * and hex digits.
 */
static bool
ends_in_number(const char *host, size_t len)
{
	const char *last;
	size_t n;

	if (len > 1 && host[len - 1] == '.')
		len--;
	for (last = host + len; last > host && last[-1] != '.'; last--)
		;
	n = (size_t)(host + len - last);
	if (n == 0)
		return false;
	if (strspn(last, "0123456789") >= n)
		return true;
	if (n >= 2 && last[0] == '0' && last[1] == 'x')
		return strspn(last + 2, "0123456789abcdef") >= n - 2;
	return false;
}

/* Parse a lower-cased host that ends in a number as IPv4 into out ("127.0.0.1"); 0 or -1. */
static int
ipv4_canon(const char *host, size_t len, char *out, size_t size)
{
	uint64_t part[4], v = 0;
	size_t n = 0, i;
	const char *p = host, *end = host + len, *dot;

	if (len > 1 && host[len - 1] == '.')
		end--;
	while (p <= end) {
		dot = memchr(p, '.', (size_t)(end - p));
		if (dot == NULL)
			dot = end;
		if (n == 4 || dot == p || ipv4_part(p, (size_t)(dot - p), &part[n]) == -1)
			return -1;
		n++;
		p = dot + 1;
	}
	for (i = 0; i + 1 < n; i++) {
		if (part[i] > 255)
			return -1;
		v = v * 256 + part[i];
	}
	if (part[n - 1] >= (uint64_t)1 << (8 * (5 - n)))
		return -1;
	v = (v << (8 * (5 - n))) + part[n - 1];
	snprintf(out, size, "%u.%u.%u.%u", (unsigned)(v >> 24), (unsigned)(v >> 16 & 255),
	         (unsigned)(v >> 8 & 255), (unsigned)(v & 255));
	return 0;
}

/* Write the 16-byte IPv6 address a as WHATWG serialises it, in brackets: "[::1]". */
static void
ipv6_write(const unsigned char a[16], char *out, size_t size)
{
	unsigned piece[8];
	int i, run = 0, best = -1, best_len = 1;
	size_t n = 0;
	bool skipping = false;

	for (i = 0; i < 8; i++)
		piece[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	/* The first longest run of two or more zero pieces becomes "::". */
	for (i = 0; i < 8; i++) {
		run = piece[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	n += (size_t)snprintf(out + n, size - n, "[");
	for (i = 0; i < 8; i++) {
		if (skipping && piece[i] == 0)
			continue;
		skipping = false;
		if (i == best) {
			n += (size_t)snprintf(out + n, size - n, i == 0 ? "::" : ":");
			skipping = true;
			continue;
		}
		n += (size_t)snprintf(out + n, size - n, "%x%s", piece[i], i < 7 ? ":" : "");
	}
	snprintf(out + n, size - n, "]");
}

/*
 * The canonical form of the host at s (len bytes, brackets included for
 * IPv6) into out (ORIGIN_MAX + 1 bytes). 0, or -1 with *why set.
 */
static int
host_canon(const char *s, size_t len, char *out, const char **why)
{
	char h[ORIGIN_MAX + 1];
	unsigned char a6[16];
	size_t i;

	if (len == 0) {
		*why = "an origin needs a host: scheme://host[:port]";
		return -1;
	}
	if (len > ORIGIN_HOST_MAX) {
		*why = "a host may be at most 253 bytes";
		return -1;
	}
	for (i = 0; i < len; i++)
		h[i] = lower(s[i]);
	h[len] = '\0';
	if (h[0] == '[') {
		h[len - 1] = '\0'; /* the caller found the ']' there */
		if (len < 4 || strspn(h + 1, "0123456789abcdef:.") != len - 2 ||
		    inet_pton(AF_INET6, h + 1, a6) != 1) {
			*why = "an IPv6 host is [hex:digits:and:colons], such as [::1]";
			return -1;
		}
		ipv6_write(a6, out, ORIGIN_MAX + 1);
		return 0;
	}
	if (strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-") != len) {
		*why = "a host is letters, digits, '.' and '-' (an IPv6 one in brackets; "
		       "a non-ASCII name in its xn-- form)";
		return -1;
	}
	if (ends_in_number(h, len)) {
		if (ipv4_canon(h, len, out, ORIGIN_MAX + 1) == -1) {
			*why = "a host that ends in a number must be an IPv4 address";
			return -1;
		}
		return 0;
	}
	memcpy(out, h, len + 1);
	return 0;
}

/* Parse the port at s (len bytes): 1-65535, no leading zero. Returns it, or -1. */
static long
port_parse(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

int
origin_canon(const char *in, char *out, const char **why)
{
	const char *p, *end, *hend, *msg = NULL;
	char host[ORIGIN_MAX + 1];
	bool https;
	long port = -1;
	int n;

	if (why == NULL)
		why = &msg;
	if (has_prefix(in, "http://")) {
		https = false;
		p = in + 7;
	} else if (has_prefix(in, "https://")) {
		https = true;
		p = in + 8;
	} else {
		*why =
		    "an origin is http:// or https:// and a host, such as https://api.example.com";
		return -1;
	}
	/* Checked again once canonical: ":443" or a long IPv6 form may make it shorter. */
	end = p + strnlen(p, 2 * ORIGIN_MAX);
	if (*end != '\0') {
		*why = "an origin may be at most 255 bytes";
		return -1;
	}
	if (end > p && end[-1] == '/')
		end--; /* one trailing slash, as "https://host/" */
	if (memchr(p, '@', (size_t)(end - p)) != NULL) {
		*why = "an origin holds no user name or password (user@host)";
		return -1;
	}
	if (strcspn(p, "/?#\\") < (size_t)(end - p)) {
		*why = "an origin has no path, query or fragment: only scheme://host[:port]";
		return -1;
	}
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (hend == NULL) {
			*why = "an IPv6 host is [hex:digits:and:colons], such as [::1]";
			return -1;
		}
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (hend == NULL)
			hend = end;
	}
	if (hend < end &&
	    (*hend != ':' || (port = port_parse(hend + 1, (size_t)(end - hend - 1))) == -1)) {
		*why = *hend != ':' ? "an origin is scheme://host[:port]"
		                    : "a port is 1 to 65535, without leading zeros";
		return -1;
	}
	if (host_canon(p, (size_t)(hend - p), host, why) == -1)
		return -1;
	if (port == (https ? 443 : 80))
		port = -1;
	if (port == -1)
		n = snprintf(out, ORIGIN_MAX + 1, "%s://%s", https ? "https" : "http", host);
	else
		n = snprintf(out, ORIGIN_MAX + 1, "%s://%s:%ld", https ? "https" : "http", host,
		             port);
	if (n < 0 || n > ORIGIN_MAX) {
		*why = "an origin may be at most 255 bytes";
		return -1;
	}
	return 0;
}

int
origin_from_url(const char *url, char *out, const char **why)
{
	const char *p = url, *auth, *aend, *at, *msg = NULL;
	char o[ORIGIN_MAX + 2];
	size_t scheme, len;

	if (why == NULL)
		why = &msg;
	/* As a URL parser does, leading and trailing spaces and controls are no part of it. */
	while (*p != '\0' && (unsigned char)*p <= ' ')
		p++;
	scheme = has_prefix(p, "http://") ? 7 : has_prefix(p, "https://") ? 8 : 0;
	if (scheme == 0) {
		*why = "a URL here is http:// or https://, such as https://api.example.com/v1";
		return -1;
	}
	auth = p + scheme;
	aend = auth + strcspn(auth, "/?#\\");
	while (aend > auth && (unsigned char)aend[-1] <= ' ')
		aend--;
	for (at = aend; at > auth && at[-1] != '@'; at--)
		;
	auth = at; /* past the last '@': the user and password are no part of the origin */
	len = (size_t)(aend - auth);
	if (scheme + len > ORIGIN_MAX) {
		*why = "an origin may be at most 255 bytes";
		return -1;
	}
	memcpy(o, p, scheme);
	memcpy(o + scheme, auth, len);
	o[scheme + len] = '\0';
	return origin_canon(o, out, why);
}

const char *
origin_list_next(const char **p, size_t *len)
{
	const char *s = *p, *e;

	while (*s == ' ')
		s++;
	if (*s == '\0')
		return NULL;
	e = strchr(s, ' ');
	if (e == NULL)
		e = s + strlen(s);
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

size_t
origin_list_count(const char *list)
{
	const char *p = list;
	size_t n = 0, len;

	while (origin_list_next(&p, &len) != NULL)
		n++;
	return n;
}

/* Order the list item at s (len bytes) against the string origin, as strcmp does. */
static int
item_cmp(const char *s, size_t len, const char *origin)
{
	size_t olen = strlen(origin);
	int c = memcmp(s, origin, len < olen ? len : olen);

	return c != 0 ? c : (len > olen) - (len < olen);
}

bool
origin_list_has(const char *list, const char *origin)
{
	const char *p = list, *s;
	size_t len;

	while ((s = origin_list_next(&p, &len)) != NULL) {
		if (item_cmp(s, len, origin) == 0)
			return true;
	}
	return false;
}

int
origin_list_add(char *list, const char *origin)
{
	const char *p = list, *s;
	size_t len, olen = strlen(origin), total = strlen(list), at = total, n = 0;
	int c;

	while ((s = origin_list_next(&p, &len)) != NULL) {
		c = item_cmp(s, len, origin);
		if (c == 0)
			return 0;
		if (c > 0 && at == total)
			at = (size_t)(s - list);
		n++;
	}
	if (n >= ORIGINS_MAX || total + olen + 2 > ORIGIN_LIST_MAX)
		return -1;
	if (total == 0) {
		memcpy(list, origin, olen + 1);
	} else if (at == total) {
		list[total] = ' ';
		memcpy(list + total + 1, origin, olen + 1);
	} else {
		memmove(list + at + olen + 1, list + at, total - at + 1);
		memcpy(list + at, origin, olen);
		list[at + olen] = ' ';
	}
	return 1;
}

bool
origin_list_remove(char *list, const char *origin)
{
	const char *p = list, *s;
	size_t len, from, to;

	while ((s = origin_list_next(&p, &len)) != NULL) {
		if (item_cmp(s, len, origin) != 0)
			continue;
		from = (size_t)(s - list);
		to = from + len;
		if (list[to] == ' ')
			to++; /* the space after it */
		else if (from > 0)
			from--; /* the last one: the space before it */
		memmove(list + from, list + to, strlen(list + to) + 1);
		return true;
	}
	return false;
}
