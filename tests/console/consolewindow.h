#pragma once

// The console's main window on a test orchestrator, as swamp-console opens it: the admin endpoint
// from the orchestrator's data dir (admin.json), a session, the window shown and loaded.

#include "client/adminsession.h"
#include "mainwindow.h"

#include <QSignalSpy>

#include <memory>

namespace ConsoleTest {

struct ConsoleWindow
{
    std::unique_ptr<Swamp::Console::AdminSession> session;
    std::unique_ptr<Swamp::Console::MainWindow> window;

    // False with *why when the endpoint cannot be resolved or the window did not load in 30 s.
    bool open(const QString &dataDir, QSize size, QString *why)
    {
        Swamp::AdminEndpointOptions options;
        options.dataDir = dataDir;
        auto endpoint = Swamp::resolveAdminEndpoint(options);
        if (!endpoint) {
            *why = endpoint.error().text();
            return false;
        }
        session = std::make_unique<Swamp::Console::AdminSession>(*endpoint);
        window = std::make_unique<Swamp::Console::MainWindow>(session.get());
        if (size.isValid())
            window->resize(size);
        QSignalSpy loaded(window.get(), &Swamp::Console::MainWindow::loaded);
        window->show();
        session->start();
        if (!loaded.wait(30000)) {
            *why = QStringLiteral("the window did not load within 30 s");
            return false;
        }
        return true;
    }
};

} // namespace ConsoleTest
