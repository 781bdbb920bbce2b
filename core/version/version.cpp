#include "version/version.h"

namespace Swamp {

QString version()
{
    return QStringLiteral(SWAMP_VERSION_STRING);
}

int protocolVersion()
{
    return SWAMP_PROTOCOL_VERSION_NUMBER;
}

} // namespace Swamp
