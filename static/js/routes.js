// Every URL the browser code uses, built from ids here and nowhere else.
const API = "/api/v1";

export const routes = {
  options: () => `${API}/options/`,
  models: (projectId) => `${API}/models/?project=${projectId}`,
  generations: (projectId) => `${API}/projects/${projectId}/generations/`,
  comparisons: (projectId) => `${API}/projects/${projectId}/comparisons/`,
  generation: (sessionId) => `${API}/generations/${sessionId}/`,
  cancel: (sessionId) => `${API}/generations/${sessionId}/cancel/`,
  saveAll: (sessionId) => `${API}/generations/${sessionId}/save/`,
  archive: (sessionId) => `${API}/generations/${sessionId}/archive/`,
  image: (imageId) => `${API}/images/${imageId}/`,
  imageFile: (imageId) => `${API}/images/${imageId}/file/`,
  imageDownload: (imageId) => `${API}/images/${imageId}/file/?download=1`,
  workspace: (projectId) => `/projects/${projectId}/`,
  imagePage: (projectId, imageId) => `/projects/${projectId}/images/${imageId}/`,
  comparisonPage: (projectId, comparisonId) => `/projects/${projectId}/comparisons/${comparisonId}/`,
  socket: (sessionId) => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/generations/${sessionId}/`,
};
