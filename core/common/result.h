#pragma once

#include "common/error.h"

#include <expected>
#include <tuple> // std::ignore, for a result dropped on purpose

namespace Swamp {

// Fallible core calls return Result<T>: the value, or an Error naming cause and fix. It is
// std::expected, made [[nodiscard]]: a result is handled, or dropped on purpose with a reason
// (`std::ignore = call(); // why`).
template<typename T = void>
class [[nodiscard]] Result : public std::expected<T, Error>
{
    using Base = std::expected<T, Error>;

public:
    using Base::Base;
    Result() = default;
    Result(const Base &other) : Base(other) {}
    Result(Base &&other) : Base(std::move(other)) {}
};

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
