/* version: the product's version, shared by tablet-agent, tablet-router
 * and cpctl, so all three report the same build. */
#ifndef LIB_VERSION_H
#define LIB_VERSION_H

#define TABLET_AGENT_VERSION "0.1.0"

#endif
