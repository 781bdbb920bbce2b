#pragma once

#include "common/result.h"

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

namespace Swamp {

// What a command's configuration file may hold (`swamp serve --config`, `swamp worker connect
// --config`; docs/operations.md "Configuration file").
struct ConfigSchema
{
    QString section;      // "serve": the section of this command, [serve]
    QStringList keys;     // the command's long option names, and its positional key ("url")
    QStringList switches; // the keys that take true or false
    QStringList secrets;  // keys whose value is a secret ("token"), in any section
    // The other commands' sections and their keys: a key of theirs in this command's part of
    // the file is a mistake that says where it belongs.
    QHash<QString, QStringList> otherSections;
};

struct ConfigValue
{
    QString key;
    QStringList values; // `a,b` is two values (QSettings); a switch: "true" or "false"
};

// An INI file as QSettings reads it (QSettings::IniFormat): keys at the top apply to every
// command, keys under [section] to that command only and win over the top's.
struct ConfigFile
{
    QString path;
    QList<ConfigValue> values;
    QStringList warnings; // a secret in a file others may read
};

// Reads and checks `path`. Errors (code "invalid_config", each naming the file and the fix): it
// does not exist, is a directory or no regular file, cannot be read, is over 1 MiB, is not INI; an
// unknown section or key (with the closest known one); a key of another command; a key given twice
// in one section; a switch that is not true or false. Values are not checked here: the command
// checks them as its flags.
Result<ConfigFile> readConfigFile(const QString &path, const ConfigSchema &schema);

} // namespace Swamp
