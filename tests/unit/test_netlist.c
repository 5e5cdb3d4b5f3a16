/* test_netlist: the [auth] override lists (mailauth/netlist.h). */
#include "mailauth/netlist.h"

#include <string.h>

#include "check.h"

static bool has(const struct netlist *l, const char *ip)
{
	struct spf_ip a;
	return spf_ip_parse(ip, &a) == 0 && netlist_has_ip(l, &a);
}

int main(void)
{
	struct netlist l;
	char err[200];

	CHECK(netlist_parse(&l, "", false, err, sizeof err) == 0 && l.nnets == 0, "empty");
	CHECK(netlist_parse(&l, "127.0.0.1, ::1 192.0.2.0/24,2001:db8::/32", false, err,
	                    sizeof err) == 0 &&
	          l.nnets == 4,
	      "four nets: %s", err);
	CHECK(has(&l, "127.0.0.1") && !has(&l, "127.0.0.2"), "host");
	CHECK(has(&l, "192.0.2.200") && !has(&l, "192.0.3.1"), "/24");
	CHECK(has(&l, "2001:db8:1::5") && has(&l, "::1") && !has(&l, "2001:db9::1"), "v6");
	CHECK(has(&l, "::ffff:192.0.2.9"), "v4-mapped");
	CHECK(netlist_parse(&l, "192.0.2.0/33", false, err, sizeof err) < 0, "bad prefix");
	CHECK(netlist_parse(&l, "10.0.0.0/", false, err, sizeof err) < 0, "empty prefix");
	CHECK(netlist_parse(&l, "lists.example.org", false, err, sizeof err) < 0,
	      "names not allowed");
	CHECK(netlist_parse(&l, "lists.Example.org., 10.1.2.3", true, err, sizeof err) == 0 &&
	          l.nnames == 1 && l.nnets == 1,
	      "a name: %s", err);
	CHECK(netlist_has_name(&l, "LISTS.example.org") &&
	          netlist_has_name(&l, "lists.example.org.") &&
	          !netlist_has_name(&l, "example.org"),
	      "name match");
	CHECK(netlist_parse(&l, "a b/c", true, err, sizeof err) < 0, "a name with a slash");
	char many[2000] = "";
	for (int i = 0; i < NETLIST_MAX_NETS + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d ", i);
	CHECK(netlist_parse(&l, many, false, err, sizeof err) < 0, "bounded");
	return check_report("test_netlist");
}
