#include <QTest>
class tst_ConsoleWidgets : public QObject { Q_OBJECT };
QTEST_MAIN(tst_ConsoleWidgets)
#include "tst_console_widgets.moc"
