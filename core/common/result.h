#pragma once

#include "common/error.h"

#include <expected>

namespace Swamp {

// Fallible core calls return Result<T>: the value, or an Error naming cause and fix.
template<typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(const QString &code, const QString &message,
                                   const QString &fix = {})
{
    return std::unexpected<Error>(makeError(code, message, fix));
}

inline std::unexpected<Error> fail(Error error)
{
    return std::unexpected<Error>(std::move(error));
}

} // namespace Swamp
