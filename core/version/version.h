#pragma once

#include <QString>

namespace Swamp {

// The swamp version compiled into this binary (CMake cache variable SWAMP_VERSION).
// Orchestrator and workers must run the same version: there is no negotiation.
QString version();

// The wire protocol version (CMake cache variable SWAMP_PROTOCOL_VERSION).
int protocolVersion();

} // namespace Swamp
