// --config, --log-level, -q and -v of the long-running commands (cli.h).
#include "cli.h"
#include "commands.h"

#include "common/configfile.h"
#include "common/loglevel.h"
#include "common/text.h"

namespace Swamp::Cli {

namespace {

// The commands that read a config file, and their sections.
struct ConfigCommand
{
    QString section;
    QString command;
    QString positional; // the key of its positional arguments
};

const QList<ConfigCommand> &configCommands()
{
    static const QList<ConfigCommand> list{
        {QStringLiteral("serve"), QStringLiteral("serve"), {}},
        {QStringLiteral("worker"), QStringLiteral("worker connect"), QStringLiteral("url")},
    };
    return list;
}

// The keys a command's file may hold: its long options but --help and --config.
QStringList keysOf(const QList<OptionSpec> &options, const QString &positional,
                   QStringList *switches)
{
    QStringList keys;
    for (const OptionSpec &option : options) {
        if (option.name == u"help" || option.name == u"config")
            continue;
        keys << option.name;
        if (switches && option.valueName.isEmpty())
            *switches << option.name;
    }
    if (!positional.isEmpty())
        keys << positional;
    return keys;
}

ConfigSchema schemaOf(const QCommandLineParser &parser, const QString &command,
                      const QList<ConfigSetting> &settings)
{
    ConfigSchema schema;
    QString positional;
    for (const ConfigSetting &setting : settings) {
        if (setting.positional)
            positional = setting.keys.value(0);
    }
    for (const ConfigCommand &other : configCommands()) {
        if (other.command == command) {
            schema.section = other.section;
            continue;
        }
        for (const Command &entry : commands()) {
            if (entry.words.join(u' ') == other.command)
                schema.otherSections.insert(
                    other.section, keysOf(describe(entry).options, other.positional, nullptr));
        }
    }
    schema.keys = keysOf(optionsFromHelpText(parser.helpText()), positional, &schema.switches);
    schema.secrets = {QStringLiteral("token")};
    return schema;
}

ConfigSetting settingOf(const QString &key, const QList<ConfigSetting> &settings)
{
    for (const ConfigSetting &setting : settings) {
        if (setting.keys.contains(key))
            return setting;
    }
    return ConfigSetting{{key}, {}};
}

// Whether the command line or the environment gives `setting`, which outranks the file.
bool givenElsewhere(const QCommandLineParser &parser, const ConfigSetting &setting)
{
    for (const QString &key : setting.keys) {
        // An empty positional argument is none (worker.cpp: a unit's unset "${VARIABLE}").
        const bool given = setting.positional
                               ? parser.positionalArguments().join(QString()).size() > 0
                               : parser.isSet(key);
        if (given)
            return true;
    }
    for (const QString &variable : setting.environment) {
        if (!qEnvironmentVariableIsEmpty(variable.toLocal8Bit().constData()))
            return true;
    }
    return false;
}

// The arguments the file adds, options first, then "--" and positional arguments; `taken`
// lists the keys used.
QStringList fileArguments(const QCommandLineParser &parser, const ConfigFile &file,
                          const QList<ConfigSetting> &settings, const QStringList &switches,
                          QStringList *taken)
{
    QStringList options;
    QStringList positional;
    for (const ConfigValue &value : file.values) {
        const ConfigSetting setting = settingOf(value.key, settings);
        if (givenElsewhere(parser, setting))
            continue;
        taken->append(value.key);
        if (setting.positional)
            positional += value.values;
        else if (switches.contains(value.key))
            options +=
                value.values.value(0) == u"true" ? QStringList{u"--" + value.key} : QStringList{};
        else if (!setting.repeatable)
            options << u"--" + value.key + u'=' + value.values.join(u',');
        else {
            for (const QString &item : value.values)
                options << u"--" + value.key + u'=' + item;
        }
    }
    if (!positional.isEmpty())
        options << QStringLiteral("--") << positional;
    return options;
}

// -q, -v, --log-level (given or from the file), else SWAMP_LOG_LEVEL, else info.
bool applyLogLevel(const QCommandLineParser &parser, const QString &command, int *exitCode)
{
    QStringList given;
    for (const char *name : {"quiet", "verbose", "log-level"}) {
        if (parser.isSet(QLatin1String(name)))
            given << u"--" + QLatin1String(name);
    }
    if (given.size() > 1) {
        *exitCode = usageError(QStringLiteral("%1 exclude each other; give one")
                                   .arg(given.join(QStringLiteral(" and "))),
                               command);
        return false;
    }
    QString source = QStringLiteral("--log-level");
    QString name = qEnvironmentVariable("SWAMP_LOG_LEVEL");
    if (parser.isSet(QStringLiteral("quiet")))
        name = QStringLiteral("warning");
    else if (parser.isSet(QStringLiteral("verbose")))
        name = QStringLiteral("debug");
    else if (parser.isSet(QStringLiteral("log-level")))
        name = parser.value(QStringLiteral("log-level"));
    else if (!name.isEmpty())
        source = QStringLiteral("SWAMP_LOG_LEVEL");
    else
        name = QStringLiteral("info");
    auto level = parseLogLevel(name);
    if (!level) {
        *exitCode = usageError(source + QStringLiteral(": ") + level.error().text(), command);
        return false;
    }
    setLogLevel(*level);
    return true;
}

// The file of --config or SWAMP_CONFIG, merged into `parser`. False on a mistake.
bool mergeConfigFile(QCommandLineParser &parser, const QStringList &arguments,
                     const QString &command, const QList<ConfigSetting> &settings,
                     QStringList *warnings, int *exitCode)
{
    const bool flag = parser.isSet(QStringLiteral("config"));
    const QString path =
        flag ? parser.value(QStringLiteral("config")) : qEnvironmentVariable("SWAMP_CONFIG");
    if (flag && path.isEmpty()) {
        *exitCode = usageError(QStringLiteral("--config needs the path of an INI file"), command);
        return false;
    }
    if (path.isEmpty())
        return true;
    const ConfigSchema schema = schemaOf(parser, command, settings);
    auto file = readConfigFile(path, schema);
    if (!file) {
        *exitCode = usageError(file.error().text(), command);
        return false;
    }
    *warnings = file->warnings;
    QStringList taken;
    const QStringList extra = fileArguments(parser, *file, settings, schema.switches, &taken);
    if (taken.isEmpty())
        return true;
    setUsageNote(QStringLiteral("note: %1 set %2 (flags and environment variables win over it)")
                     .arg(printable(path), taken.join(QStringLiteral(", "))));
    QStringList argv = arguments;
    argv.prepend(QStringLiteral("swamp ") + command);
    // Before a "--" of the command line, which then gave the positional arguments itself.
    const qsizetype dashes = argv.indexOf(QStringLiteral("--"));
    const qsizetype at = dashes < 0 ? argv.size() : dashes;
    if (!parser.parse(argv.mid(0, at) + extra + argv.mid(at))) {
        *exitCode = usageError(printable(leftCharacters(parser.errorText(), 200)), command);
        return false;
    }
    return true;
}

} // namespace

void addConfigOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {QStringLiteral("config"),
         QStringLiteral("INI file of this command's options (env SWAMP_CONFIG): keys are the long "
                        "option names, at the top or under [serve] / [worker]; flags and "
                        "environment variables win over it."),
         QStringLiteral("path")},
        {QStringLiteral("log-level"),
         QStringLiteral("error, warning, info (default) or debug (env SWAMP_LOG_LEVEL)."),
         QStringLiteral("level")},
        {{QStringLiteral("q"), QStringLiteral("quiet")},
         QStringLiteral("Print only warnings and errors (--log-level warning).")},
        {{QStringLiteral("v"), QStringLiteral("verbose")},
         QStringLiteral(
             "Also print the debug lines of the swamp.* logging categories (--log-level debug).")},
    });
}

bool applyConfigFile(QCommandLineParser &parser, const QStringList &arguments,
                     const QString &command, const QList<ConfigSetting> &settings, int *exitCode)
{
    QList<ConfigSetting> all = settings;
    all.append({{QStringLiteral("log-level"), QStringLiteral("quiet"), QStringLiteral("verbose")},
                {QStringLiteral("SWAMP_LOG_LEVEL")}});
    QStringList warnings;
    if (!mergeConfigFile(parser, arguments, command, all, &warnings, exitCode) ||
        !applyLogLevel(parser, command, exitCode))
        return false;
    if (logs(LogLevel::Warning)) {
        for (const QString &warning : std::as_const(warnings))
            err(QStringLiteral("warning: ") + warning);
    }
    return true;
}

} // namespace Swamp::Cli
