/* test_ipnet: network lists of the config (lib/ipnet.c). */
#include "lib/ipnet.h"
#include "check.h"

int main(void)
{
	CHECK(ipnet_list_valid(""), "empty");
	CHECK(ipnet_list_valid("10.0.0.0/8, 192.0.2.7,2001:db8::/32 ::1"), "mixed");
	CHECK(!ipnet_list_valid("10.0.0.0/33"), "v4 prefix too long");
	CHECK(!ipnet_list_valid("2001:db8::/129"), "v6 prefix too long");
	CHECK(!ipnet_list_valid("10.0.0.0/"), "no prefix");
	CHECK(!ipnet_list_valid("10.0.0.0/-1"), "negative");
	CHECK(!ipnet_list_valid("example.org"), "a name");
	CHECK(ipnet_list_match("10.0.0.0/8", "10.1.2.3"), "in /8");
	CHECK(!ipnet_list_match("10.0.0.0/8", "11.1.2.3"), "not in /8");
	CHECK(ipnet_list_match("192.0.2.128/25", "192.0.2.200"), "in /25");
	CHECK(!ipnet_list_match("192.0.2.128/25", "192.0.2.100"), "not in /25");
	CHECK(ipnet_list_match("x, 192.0.2.7", "192.0.2.7") == false, "a bad list matches nothing");
	CHECK(ipnet_list_match("192.0.2.7", "::ffff:192.0.2.7"), "mapped");
	CHECK(ipnet_list_match("2001:db8::/32", "2001:db8:1::5"), "v6");
	CHECK(!ipnet_list_match("2001:db8::/32", "2001:db9::5"), "v6 outside");
	CHECK(!ipnet_list_match("0.0.0.0/0", "::1"), "families apart");
	CHECK(ipnet_list_match("0.0.0.0/0", "203.0.113.1"), "/0");
	CHECK(!ipnet_list_match("10.0.0.0/8", "garbage"), "bad address");
	return check_report("test_ipnet");
}
