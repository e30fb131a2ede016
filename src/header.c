/*
 * The header-field rule as a small state machine, so the streaming spool
 * and the whole-header parser run the very same transitions.
 */
#include "header.h"

bool
header_is_name_byte(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && ch != ':';
}

bool
header_is_wsp(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

enum header_scan
header_field_scan(enum header_scan state, unsigned char ch)
{
	switch (state) {
	case HEADER_SCAN_START:
		return header_is_name_byte(ch) ? HEADER_SCAN_NAME : HEADER_SCAN_NOT_FIELD;
	case HEADER_SCAN_NAME:
	case HEADER_SCAN_NAME_SPACE:
		if (ch == ':')
			return HEADER_SCAN_FIELD;
		if (header_is_wsp(ch))
			return HEADER_SCAN_NAME_SPACE;
		return state == HEADER_SCAN_NAME && header_is_name_byte(ch)
		    ? HEADER_SCAN_NAME : HEADER_SCAN_NOT_FIELD;
	default:
		return state;
	}
}

static bool
header_scan_done(enum header_scan state)
{
	return state == HEADER_SCAN_FIELD || state == HEADER_SCAN_NOT_FIELD;
}

size_t
header_field_name_length(const char *line, size_t len)
{
	enum header_scan state = HEADER_SCAN_START;
	size_t name = 0;

	for (size_t i = 0; i < len && !header_scan_done(state); i++) {
		state = header_field_scan(state, (unsigned char)line[i]);
		if (state == HEADER_SCAN_NAME)
			name = i + 1;
	}
	return state == HEADER_SCAN_FIELD ? name : 0;
}
