/* SPDX-License-Identifier: BSD-2-Clause */
/* portcullis-relay: the daemon is its descriptor (relay-milter.c) in the milter skeleton */
#include "milter-descriptors.h"

int
main(int argc, char **argv)
{
	return pc_milter_main(&relay_milter, argc, argv);
}
