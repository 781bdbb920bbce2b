#pragma once

#include <QList>
#include <QString>

class QCoreApplication;
class QTranslator;

namespace Swamp::Console {

// Makes `language` (e.g. "de"; empty: the system locale) the default locale and installs the
// console's catalog (from :/i18n) and Qt's own (qtbase_<lang> from the Qt translations
// directory: the standard buttons' Cancel and Close; Debian ships it in qt6-translations-l10n).
// Returns the translators installed, owned by `app`; English needs none.
QList<QTranslator *> installTranslators(QCoreApplication &app, const QString &language);

} // namespace Swamp::Console
