#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>

namespace Swamp {

// Writes `data` atomically (QSaveFile: temp file + rename) with mode 0600.
// Error code "file_write" with the path and the OS reason.
Result<void> writeFileAtomically(const QString &path, const QByteArray &data);

// Creates `path` (and parents) and restricts it to mode 0700. Error code "directory".
Result<void> ensurePrivateDirectory(const QString &path);

Result<QByteArray> readFile(const QString &path);

} // namespace Swamp
