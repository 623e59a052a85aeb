/*
 * Parsing of human durations for --lock-after and unlock --for.
 */
#include "duration.h"

#include <stdlib.h>
#include <string.h>

double
duration_parse(const char *s)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return -1;
	v = strtod(s, &end);
	if (end == s || v < 0 || v > 1e9)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		return v;
	if (strcmp(end, "m") == 0)
		return v * 60;
	if (strcmp(end, "h") == 0)
		return v * 3600;
	if (strcmp(end, "d") == 0)
		return v * 86400;
	return -1;
}
