/* `nimbus-dhcp-hook EVENT`: the program busybox udhcpc runs for a
 * container's NIC (src/daemon/dhcp_hook.h).  A binary of its own, linked
 * with libmnl alone, so a lease event costs a millisecond rather than the
 * daemon's start with its 48 libraries. */
#include "daemon/dhcp_hook.h"

int main(int argc, char **argv)
{
	return dhcp_hook_main(argc, argv);
}
