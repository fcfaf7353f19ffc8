/* SPDX-License-Identifier: BSD-2-Clause */
/* portcullis-verify: the daemon is its descriptor (verify-milter.c) in the milter skeleton */
#include "milter-descriptors.h"

int
main(int argc, char **argv)
{
	return pc_milter_main(&verify_milter, argc, argv);
}
